#!/usr/bin/env -S node --max-semi-space-size=16
// --max-semi-space-size=16: V8 otherwise grows the young generation to its largest semi-spaces
// under the planner's allocation rate; a plan over 1,000,000 listed objects peaked at 250 MiB RSS
// without the cap and 185 MiB with it, and ran no slower. A smaller cap (4) saved nothing more
// there and put 18-21% of B1/B2's copier CPU into scavenges. Shard workers inherit it (fork passes
// execArgv). It must be a start-up flag: v8.setFlagsFromString comes too late for heap sizing.
// Launcher: runs the compiled CLI when present (production images), else the TypeScript sources
// directly (Node 24 strips types).
import { existsSync } from 'node:fs';
import module from 'node:module';
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Every shard worker is a new process that loads the CLI and the AWS SDK again: about 310 ms of
// CPU from TypeScript sources, 120 ms with V8's on-disk compile cache (which also keeps the
// type-stripped output). Under the user's own cache directory, not a shared /tmp; where that is
// not writable (read-only root in pods) Node just runs without it.
module.enableCompileCache?.(process.env['DATASYNC_COMPILE_CACHE'] ?? path.join(homedir(), '.cache', 'datasync', 'compile-cache'));

const compiled = new URL('../dist/copier/cli.js', import.meta.url);
const { main } = existsSync(fileURLToPath(compiled)) ? await import(compiled.href) : await import('../copier/cli.ts');
const code = await main(process.argv.slice(2), fileURLToPath(import.meta.url));
process.exitCode = code;
