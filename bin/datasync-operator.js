#!/usr/bin/env node
// Launcher: the image runs compiled JS from dist/, a checkout runs the TypeScript directly.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
const dist = fileURLToPath(new URL('../dist/operator/main.js', import.meta.url));
await import(existsSync(dist) ? dist : '../operator/main.ts');
