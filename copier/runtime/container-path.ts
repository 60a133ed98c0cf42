// Absolute paths in a pod spec (/etc/datasync/run.json, /var/run/datasync/secrets/..., a PVC at
// /data) are container paths. In a real container they are used as they are. Under the test
// environment's local pod runner the process is not containerised: it sets DATASYNC_PATH_PREFIX
// to the pod's root directory, where every volumeMount appears at <prefix><mountPath>.
// Resolve every absolute path that comes from a pod spec, an env var or a default through this.
import path from 'node:path';

export function containerPath(p: string): string {
  const prefix = process.env['DATASYNC_PATH_PREFIX'];
  if (!prefix || !path.isAbsolute(p)) return p;
  // Already a host path inside the pod root: resolving twice must not nest the prefix.
  if (p === prefix || p.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`)) return p;
  return path.join(prefix, p);
}
