#!/usr/bin/env node
// Launcher: runs the compiled CLI when present (production images), else the TypeScript sources
// directly (Node 24 strips types).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const compiled = new URL('../dist/copier/cli.js', import.meta.url);
const { main } = existsSync(fileURLToPath(compiled)) ? await import(compiled.href) : await import('../copier/cli.ts');
const code = await main(process.argv.slice(2), fileURLToPath(import.meta.url));
process.exitCode = code;
