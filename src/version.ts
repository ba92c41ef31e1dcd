// Replaced at bundle time by scripts/build.mjs; read from package.json when run from source.
declare const __PIHA_VERSION__: string | undefined;
export const VERSION: string = typeof __PIHA_VERSION__ === 'string' ? __PIHA_VERSION__ : '0.1.0-dev';
