// Dataset generators. Content is random (incompressible, nothing to deduplicate), sizes are exact,
// and a stamp file records the shape, so a warm bench reuses the data and a changed shape regenerates.
import { mkdirSync, writeFileSync, readFileSync, rmSync, existsSync, openSync, writeSync, closeSync } from 'node:fs';
import { randomFillSync } from 'node:crypto';
import path from 'node:path';

export interface Dataset {
  dir: string;
  files: number;
  bytes: number;
  label: string;
}

interface Shape { name: string; sizes: number[]; /** files per subdirectory */ perDir: number }

const MiB = 1024 * 1024;
const KiB = 1024;
const chunk = Buffer.alloc(4 * MiB);

function writeRandomFile(file: string, size: number): void {
  const fd = openSync(file, 'w');
  try {
    let left = size;
    while (left > 0) {
      const n = Math.min(left, chunk.length);
      randomFillSync(chunk, 0, n);
      writeSync(fd, chunk, 0, n);
      left -= n;
    }
  } finally {
    closeSync(fd);
  }
}

function materialise(root: string, shape: Shape, label: string): Dataset {
  const dir = path.join(root, shape.name);
  const stampFile = path.join(dir, '.shape.json');
  const bytes = shape.sizes.reduce((a, b) => a + b, 0);
  const stamp = JSON.stringify({ sizes: shape.sizes.length, bytes, perDir: shape.perDir, v: 1 });
  // Hidden stamp lives beside the data; tools copy it too, so it sits outside the copied tree.
  const data = path.join(dir, 'data');
  if (!(existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp)) {
    rmSync(dir, { recursive: true, force: true });
    shape.sizes.forEach((size, i) => {
      const sub = path.join(data, `d${String(Math.floor(i / shape.perDir)).padStart(4, '0')}`);
      if (i % shape.perDir === 0) mkdirSync(sub, { recursive: true });
      writeRandomFile(path.join(sub, `f${String(i).padStart(7, '0')}.bin`), size);
    });
    writeFileSync(stampFile, stamp);
  }
  return { dir: data, files: shape.sizes.length, bytes, label };
}

/** B1: large files. */
export function largeFiles(root: string, count: number, sizeMiB: number): Dataset {
  return materialise(root, { name: `large-${count}x${sizeMiB}m`, sizes: Array(count).fill(sizeMiB * MiB), perDir: count }, `${count} × ${sizeMiB} MiB`);
}

/** B2/B3: small files, 1,000 per directory like a partitioned table. */
export function smallFiles(root: string, count: number, sizeKiB: number): Dataset {
  return materialise(root, { name: `small-${count}x${sizeKiB}k`, sizes: Array(count).fill(sizeKiB * KiB), perDir: 1000 }, `${count} × ${sizeKiB} KiB`);
}

/**
 * B5: mixed sizes, log-uniform from 1 KiB to 2 MiB with a fixed seed, so every run (and every
 * machine) copies the same bytes. Median ≈ 45 KiB, mean ≈ 270 KiB: a few large files dominate the
 * bytes, as in real HDFS trees, and 2,000 files stay within the bench's time budget.
 */
export function mixedFiles(root: string, count: number): Dataset {
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const lo = Math.log(KiB);
  const hi = Math.log(2 * MiB);
  const sizes = Array.from({ length: count }, () => Math.round(Math.exp(lo + (hi - lo) * rnd())));
  return materialise(root, { name: `mixed-${count}`, sizes, perDir: 250 }, `${count} mixed 1 KiB–2 MiB`);
}
