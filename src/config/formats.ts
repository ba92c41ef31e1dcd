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
  if (m && isHost(m[1]) && isPort(Number(m[2]))) return null;
  return `${JSON.stringify(s)} is not host:port (write an IPv4 address or host name, a colon and a port 1-65535, like ${example})`;
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
