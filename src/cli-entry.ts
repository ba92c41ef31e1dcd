// Entry point of the bundled binary (dist/piha).
import { cli } from './main.ts';
void cli(process.argv.slice(2));
