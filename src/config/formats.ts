// Checks for the string formats in the file. Each returns null when the value is fine,
// or the message to show (what is wrong and how to write it instead).

/** Node, resource and cluster names: safe in file names, log lines, URLs and shell
 *  arguments without quoting; 63 characters like a DNS label. */
export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

export function checkName(s: string, example: string): string | null {
  if (NAME_RE.test(s)) return null;
  return (
    `${JSON.stringify(s)} is not a valid name (use 1-63 letters, digits, _ . or -, ` +
    `starting with a letter or digit, like ${example})`
  );
}

/** Strict dotted decimal. Leading zeros are refused because some tools read them as octal. */
export function isIPv4(s: string): boolean {
  const parts = s.split('.');
  return (
    parts.length === 4 &&
    parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255)
  );
}

export function checkIPv4(s: string, example: string): string | null {
  const slash = /^(.*)\/(\d+)$/.exec(s);
  if (slash && isIPv4(slash[1])) {
    return `${JSON.stringify(s)} has a /${slash[2]} suffix (write the address alone, ${slash[1]}, and the prefix length as cidr_netmask: ${slash[2]})`;
  }
  if (!isIPv4(s)) {
    return `${JSON.stringify(s)} is not an IPv4 address (write four numbers 0-255, like ${example})`;
  }
  const first = Number(s.split('.')[0]);
  // These can never be a host's own unicast address: "this network", loopback,
  // multicast and reserved/broadcast.
  if (first === 0 || first === 127 || first >= 224) {
    return `${s} is not a usable host address (0.x, 127.x loopback, 224+ multicast/broadcast are not allowed; use an address on your LAN, like ${example})`;
  }
  return null;
}

/**
 * Strict IPv6 text (RFC 4291 section 2.2): eight groups of 1-4 hex digits, at most one `::`,
 * optionally ending in a dotted IPv4 address (strict, as isIPv4). No zone (`%eth0`), no
 * brackets, no prefix. Returns the eight 16-bit groups, or null.
 */
export function parseIPv6(s: string): number[] | null {
  if (!/^[0-9A-Fa-f:.]{2,45}$/.test(s)) return null;
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const groups = (part: string, last: boolean): number[] | null => {
    if (part === '') return [];
    const out: number[] = [];
    const words = part.split(':');
    for (let i = 0; i < words.length; i++) {
      const w = words[i]!;
      if (last && i === words.length - 1 && w.includes('.')) {
        if (!isIPv4(w)) return null;
        const [a, b, c, d] = w.split('.').map(Number) as [number, number, number, number];
        out.push((a << 8) | b, (c << 8) | d);
      } else if (/^[0-9A-Fa-f]{1,4}$/.test(w)) out.push(parseInt(w, 16));
      else return null;
    }
    return out;
  };
  const head = groups(halves[0]!, halves.length === 1);
  const tail = halves.length === 2 ? groups(halves[1]!, true) : [];
  if (!head || !tail) return null;
  if (halves.length === 1) return head.length === 8 ? head : null;
  const zeros = 8 - head.length - tail.length;
  return zeros >= 1 ? [...head, ...new Array<number>(zeros).fill(0), ...tail] : null;
}

export function isIPv6(s: string): boolean {
  return parseIPv6(s) !== null;
}

/**
 * RFC 5952 text of an IPv6 address: lower case, no leading zeros, the first longest run of
 * two or more zero groups written `::`, always hex (no dotted tail). This is what
 * iproute2 prints (glibc inet_ntop) for every address checkIP accepts, so the VIP adapter can
 * compare config and kernel addresses as strings. Input that is not IPv6 is returned as is.
 */
export function canonicalIPv6(s: string): string {
  const g = parseIPv6(s);
  if (!g) return s;
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** A VIP's address in the form the kernel prints: IPv6 canonical (RFC 5952), IPv4 unchanged. */
export function canonicalIP(s: string): string {
  return s.includes(':') ? canonicalIPv6(s) : s;
}

/** 4 or 6, or null when `s` is neither (strict forms, as checkIP accepts them). */
export function ipFamily(s: string): 4 | 6 | null {
  return isIPv4(s) ? 4 : isIPv6(s) ? 6 : null;
}

/**
 * A virtual IP: IPv4 (checkIPv4) or IPv6. IPv6 may be written in any RFC 4291 form; the
 * daemon uses its canonical form (canonicalIP). Refused, because no host may own them as a
 * VIP: :: (unspecified), ::1 (loopback), IPv4-mapped ::ffff:0:0/96 and IPv4-compatible
 * ::/96 (deprecated) addresses, link-local fe80::/10 (one per link, needs a zone; a VIP must
 * be reachable from other subnets) and multicast ff00::/8.
 */
export function checkIP(s: string, example: string, example6 = '2001:db8::150'): string | null {
  const slash = /^(.*)\/(\d+)$/.exec(s);
  if (slash && (isIPv4(slash[1]!) || isIPv6(slash[1]!))) {
    return `${JSON.stringify(s)} has a /${slash[2]} suffix (write the address alone, ${slash[1]}, and the prefix length as cidr_netmask: ${slash[2]})`;
  }
  if (/^[\d.]+$/.test(s)) return checkIPv4(s, example); // meant as IPv4: that message
  const bare = /^\[(.*)\]$/.exec(s)?.[1] ?? s;
  if (bare !== s && isIPv6(bare)) return `${JSON.stringify(s)} is written with brackets (write the address alone, like ${bare})`;
  const zone = /^([^%]*)%(.*)$/.exec(s);
  if (zone && isIPv6(zone[1]!)) {
    return `${JSON.stringify(s)} has a zone index %${zone[2]} (a VIP is not link-local; the interface is cluster.interface; write a global address, like ${example6})`;
  }
  const g = parseIPv6(s);
  if (!g) {
    return `${JSON.stringify(s)} is not an IPv4 or IPv6 address (write four numbers 0-255, like ${example}, or eight groups of hex digits with one :: for a run of zero groups, like ${example6})`;
  }
  const c = canonicalIPv6(s);
  const allZero96 = g.slice(0, 6).every((x) => x === 0);
  const why =
    c === '::'
      ? ':: is the unspecified address'
      : c === '::1'
        ? '::1 is the loopback address'
        : g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff
          ? `${c} is an IPv4-mapped address (::ffff:0:0/96); for an IPv4 VIP write the IPv4 address itself`
          : allZero96
            ? `${c} is an IPv4-compatible address (::/96, deprecated)`
            : (g[0]! & 0xffc0) === 0xfe80
              ? `${c} is link-local (fe80::/10): every link has its own, they need a zone and are not reachable from other subnets`
              : (g[0]! & 0xff00) === 0xff00
                ? `${c} is a multicast address (ff00::/8)`
                : null;
  return why ? `${why}; a VIP must be a unicast address on your LAN's prefix, like ${example6}` : null;
}

/** Returns the MAC in lower case with colons, or null if it is not one. */
export function normaliseMac(s: string): string | null {
  return /^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/.test(s) ? s.toLowerCase() : null;
}

/** Linux interface names: at most 15 bytes (IFNAMSIZ 16 with the NUL), no '/', ':' or
 *  whitespace (dev_valid_name). */
export function checkInterface(s: string): string | null {
  if (/^[^\s/:]{1,15}$/.test(s) && s !== '.' && s !== '..') return null;
  return `${JSON.stringify(s)} is not a network interface name (at most 15 characters without spaces, / or :, like eth0 or wlan0)`;
}

export function checkAbsolutePath(s: string, example: string): string | null {
  if (s.startsWith('/')) return null;
  return `${JSON.stringify(s)} is not an absolute path (the daemon does not run in your directory; write it from /, like ${example})`;
}

const HOSTNAME_RE = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export function isHost(s: string): boolean {
  return isIPv4(s) || (HOSTNAME_RE.test(s) && !/^[\d.]+$/.test(s));
}

export function isPort(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= 65535;
}

/** host:port, as for status_bind. */
export function checkHostPort(s: string, example: string): string | null {
  const m = /^(.+):(\d+)$/.exec(s);
  const v6 = m && /^\[(.*)\]$/.exec(m[1]!)?.[1]; // [::]:9405, [2001:db8::10]:9405
  if (m && (v6 ? isIPv6(v6) : isHost(m[1]!)) && isPort(Number(m[2]))) return null;
  return `${JSON.stringify(s)} is not host:port (write an IPv4 address or host name, a colon and a port 1-65535, like ${example}, or an IPv6 address in brackets, like [::]:9405)`;
}

export function checkHttpUrl(s: string): string | null {
  try {
    const u = new URL(s);
    if (u.protocol === 'http:' || u.protocol === 'https:') return null;
  } catch {
    // fall through to the message
  }
  return `${JSON.stringify(s)} is not an http(s) URL (write it like https://127.0.0.1:6443/readyz)`;
}
