// The conformance suite against the local filesystem, in a fresh temporary directory.
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FilesystemBackend } from '../../copier/backends/filesystem/filesystem.ts';
import { runConformance } from './suite.ts';

runConformance('filesystem', async () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'datasync-conf-fs-'));
  return {
    backend: new FilesystemBackend(root, 'destination'),
    cleanup: async () => rmSync(root, { recursive: true, force: true }),
    makeDirectory: async (dir) => void mkdirSync(path.join(root, dir), { recursive: true }),
  };
});
