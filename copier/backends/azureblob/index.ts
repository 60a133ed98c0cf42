// Azure Blob Storage backend on @azure/storage-blob, block blobs only. Small bodies go up in one
// Put Blob; larger ones as staged blocks (Put Block, each with its own Content-MD5) committed by
// one Put Block List, which is the atomic moment the blob appears. Split files stage one block per
// part under the final name and commit them in order (blocks.ts).
import { createHash, randomBytes } from 'node:crypto';
import { addAbortSignal, Readable } from 'node:stream';
import {
  BlobServiceClient,
  StorageSharedKeyCredential,
  type BlobHTTPHeaders,
  type BlockBlobClient,
  type ContainerClient,
  type StoragePipelineOptions,
} from '@azure/storage-blob';
import type { AzureBlobEndpoint } from '../../../api/types.ts';
import type { Backend, Checksum, Entry, Features, ListOptions, ReadOptions, WriteOptions, WriteResult } from '../backend.ts';
import { DataSyncError, type Side } from '../../errors.ts';
import { ioBuffers } from '../support/buffer-pool.ts';
import { emptyReadable, fixedChunks, readHead, translatedReadable } from '../support/streams.ts';
import { readSecret } from '../../runtime/secrets.ts';
import { inUtf8Order } from '../support/ordering.ts';
import { redact, translateAzureError } from './errors.ts';
import { StagedBlockPartUpload, blockId } from './blocks.ts';

export interface AzureBlobBackendOptions {
  /** Bodies up to this size go in one Put Blob; larger ones in staged blocks of this size. Default 8 MiB. */
  blockSize?: number;
  /** Blocks staged in parallel by one write. Default 4. */
  blockConcurrency?: number;
  /** SDK-internal retries. Default 3; the engine retries files on top. */
  maxRetries?: number;
  /** Root of mounted credential Secrets; defaults to $DATASYNC_SECRETS_DIR or /var/run/datasync/secrets. */
  secretsRoot?: string;
  env?: NodeJS.ProcessEnv;
}

/** Where DataSync records the source's modification time (ms since the epoch). Metadata names must be C# identifiers. */
export const MTIME_METADATA_KEY = 'datasync_mtime';
/** Set by ADLS Gen2 / hierarchical namespace tools on blobs that stand for directories. */
const FOLDER_METADATA_KEY = 'hdi_isfolder';
const TIERS = new Set(['Hot', 'Cool', 'Cold', 'Archive']);

export function createAzureBlobBackend(spec: AzureBlobEndpoint, side: Side, opts: AzureBlobBackendOptions = {}): AzureBlobBackend {
  return new AzureBlobBackend(spec, side, opts);
}

export class AzureBlobBackend implements Backend {
  readonly kind = 'azureBlob';
  readonly location: string;
  readonly features: Features;
  readonly container: ContainerClient;
  readonly root: string;
  readonly side: Side;
  readonly blockSize: number;
  readonly blockConcurrency: number;
  readonly accessTier: string | undefined;

  constructor(spec: AzureBlobEndpoint, side: Side, opts: AzureBlobBackendOptions = {}) {
    this.side = side;
    this.root = normalizePrefix(spec.prefix);
    this.blockSize = opts.blockSize ?? 8 * 1024 * 1024;
    this.blockConcurrency = opts.blockConcurrency ?? 4;
    this.accessTier = spec.accessTier;
    const maxRetries = opts.maxRetries ?? 3;
    const pipeline: StoragePipelineOptions = { retryOptions: { maxTries: maxRetries + 1, retryDelayInMs: 200, maxRetryDelayInMs: 4000 } };
    const service = serviceClient(spec, side, pipeline, opts);
    this.container = service.getContainerClient(spec.container);
    const url = new URL(service.url);
    this.location = `azblob://${service.accountName}/${spec.container}/${this.root} (${url.origin}${url.pathname.replace(/\/$/, '')})`;
    this.features = {
      nativeChecksums: ['md5'],
      atomicWrite: true,
      partUpload: new StagedBlockPartUpload(this),
      serverSideCopy: (from, to, o) => this.copy(from, to, o),
    };
  }

  blob(path: string): BlockBlobClient {
    return this.container.getBlockBlobClient(this.root + path);
  }

  fail(err: unknown, op: string, path?: string): DataSyncError {
    return translateAzureError(err, { side: this.side, endpoint: this.location, op, ...(path === undefined ? {} : { path }) });
  }

  list(opts: ListOptions = {}): AsyncIterable<Entry> {
    // Azurite lists in UTF-16 order; Azure's documented order is by UTF-8 bytes. Either way the
    // output follows the contract.
    return inUtf8Order(this.#listServerOrder(opts));
  }

  async *#listServerOrder(opts: ListOptions): AsyncGenerator<Entry> {
    const pages = this.container
      .listBlobsFlat({ prefix: this.root + (opts.prefix ?? ''), includeMetadata: true, ...(opts.signal ? { abortSignal: opts.signal } : {}) })
      .byPage({ maxPageSize: 1000 });
    for (;;) {
      let page;
      try {
        page = await pages.next();
      } catch (err) {
        throw this.fail(err, 'list', opts.prefix ?? '');
      }
      if (page.done) return;
      for (const item of page.value.segment.blobItems) {
        const rel = item.name.slice(this.root.length);
        if (rel.endsWith('/') || item.metadata?.[FOLDER_METADATA_KEY] === 'true') continue;
        yield entryOf(rel, {
          size: item.properties.contentLength ?? 0,
          lastModified: item.properties.lastModified,
          contentMD5: item.properties.contentMD5,
          etag: item.properties.etag,
          accessTier: item.properties.accessTier,
          metadata: item.metadata,
        });
      }
    }
  }

  async stat(path: string): Promise<Entry> {
    try {
      const p = await this.blob(path).getProperties();
      return entryOf(path, { size: p.contentLength ?? 0, lastModified: p.lastModified, contentMD5: p.contentMD5, etag: p.etag, accessTier: p.accessTier, metadata: p.metadata });
    } catch (err) {
      throw this.fail(err, 'stat', path);
    }
  }

  async read(path: string, opts: ReadOptions = {}): Promise<Readable> {
    if (opts.length === 0) {
      await this.stat(path);
      return emptyReadable();
    }
    let body: NodeJS.ReadableStream | undefined;
    try {
      const r = await this.blob(path).download(opts.offset ?? 0, opts.length, opts.signal ? { abortSignal: opts.signal } : {});
      body = r.readableStreamBody;
    } catch (err) {
      throw this.fail(err, 'read', path);
    }
    if (!body) return emptyReadable();
    const source = body instanceof Readable ? body : Readable.from(body);
    if (opts.signal) addAbortSignal(opts.signal, source);
    return translatedReadable(source, (err) => this.fail(err, 'read', path));
  }

  async write(path: string, body: Readable, opts: WriteOptions = {}): Promise<WriteResult> {
    const client = this.blob(path);
    const signal = opts.signal;
    try {
      const { head, rest } = await readHead(body, this.blockSize, signal);
      if (rest === undefined) {
        const md5 = createHash('md5').update(head).digest();
        this.#checkExpected(path, opts.checksum, md5.toString('hex'));
        const r = await client.upload(head, head.length, {
          ...this.commitOptions(opts, { blobContentMD5: md5 }),
          transactionalContentMD5: md5,
        });
        return {
          size: head.length,
          checksums: [{ algorithm: 'md5', value: md5.toString('hex') }],
          ...(r.etag ? { version: r.etag } : {}),
        };
      }
      return await this.#writeStaged(client, path, rest, opts);
    } catch (err) {
      throw this.fail(err, 'write', path);
    }
  }

  async #writeStaged(client: BlockBlobClient, path: string, body: Readable, opts: WriteOptions): Promise<WriteResult> {
    const uploadId = randomBytes(6).toString('hex');
    const md5 = createHash('md5');
    const ids: string[] = [];
    const inFlight = new Set<Promise<unknown>>();
    let size = 0;
    const lease = ioBuffers.lease(); // released once every block is staged (support/buffer-pool.ts)
    for await (const chunk of fixedChunks(body, this.blockSize, { held: this.blockConcurrency, lease })) {
      opts.signal?.throwIfAborted();
      md5.update(chunk);
      size += chunk.length;
      const id = blockId(uploadId, ids.length + 1);
      ids.push(id);
      const staged = client
        .stageBlock(id, chunk, chunk.length, {
          transactionalContentMD5: createHash('md5').update(chunk).digest(),
          ...(opts.signal ? { abortSignal: opts.signal } : {}),
        })
        .finally(() => inFlight.delete(staged));
      inFlight.add(staged);
      // Bounded memory: at most blockConcurrency blocks buffered and in flight.
      if (inFlight.size >= this.blockConcurrency) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    lease.release();
    const wholeMd5 = md5.digest();
    this.#checkExpected(path, opts.checksum, wholeMd5.toString('hex'));
    // Azure does not compute an MD5 for a block list; each block was checked with its own
    // Content-MD5, so the MD5 of what was sent is recorded as the blob's Content-MD5.
    const r = await client.commitBlockList(ids, this.commitOptions(opts, { blobContentMD5: wholeMd5 }));
    return {
      size,
      checksums: [{ algorithm: 'md5', value: wholeMd5.toString('hex') }],
      ...(r.etag ? { version: r.etag } : {}),
    };
  }

  /** Options shared by Put Blob and Put Block List: headers, metadata, tier, the ifNotExists condition. */
  commitOptions(opts: WriteOptions, headers: BlobHTTPHeaders = {}) {
    const tier = opts.storageClass ?? this.accessTier;
    if (tier !== undefined && !TIERS.has(tier)) {
      throw new DataSyncError(`azureBlob access tier ${JSON.stringify(tier)} is not one of Hot, Cool, Cold, Archive`, { code: 'InvalidConfig', side: 'config' });
    }
    return {
      blobHTTPHeaders: { blobContentType: opts.contentType ?? 'application/octet-stream', ...headers },
      metadata: opts.mtimeMs === undefined ? {} : { [MTIME_METADATA_KEY]: String(Math.floor(opts.mtimeMs)) },
      ...(tier !== undefined ? { tier } : {}),
      ...(opts.ifNotExists ? { conditions: { ifNoneMatch: '*' } } : {}),
      ...(opts.signal ? { abortSignal: opts.signal } : {}),
    };
  }

  #checkExpected(path: string, expected: Checksum | undefined, md5Hex: string): void {
    if (expected?.algorithm === 'md5' && expected.value !== md5Hex) {
      throw new DataSyncError(`azureBlob write of ${JSON.stringify(path)} in ${this.location}: data does not match the caller's md5; the source changed while copying`, {
        code: 'ChecksumMismatch',
        side: this.side,
        endpoint: this.location,
        path,
        retryable: true,
      });
    }
  }

  /** Copy Blob within the account: the service copies the data, content headers and metadata. */
  async copy(from: string, to: string, opts: WriteOptions): Promise<WriteResult> {
    try {
      const poller = await this.blob(to).beginCopyFromURL(this.blob(from).url, {
        ...(opts.ifNotExists ? { conditions: { ifNoneMatch: '*' } } : {}),
        ...(opts.signal ? { abortSignal: opts.signal } : {}),
      });
      await poller.pollUntilDone();
      const e = await this.stat(to);
      return { size: e.size, checksums: e.checksums ?? [], ...(e.version ? { version: e.version } : {}) };
    } catch (err) {
      throw this.fail(err, 'copy', from);
    }
  }

  async delete(path: string): Promise<void> {
    try {
      await this.blob(path).deleteIfExists();
    } catch (err) {
      throw this.fail(err, 'delete', path);
    }
  }

  async close(): Promise<void> {}
}

interface BlobProps {
  size: number;
  lastModified: Date | undefined;
  contentMD5: Uint8Array | undefined;
  etag: string | undefined;
  accessTier: string | undefined;
  metadata: Record<string, string> | undefined;
}

function entryOf(path: string, p: BlobProps): Entry {
  const recorded = Number(p.metadata?.[MTIME_METADATA_KEY]);
  return {
    path,
    size: p.size,
    mtimeMs: Number.isFinite(recorded) && recorded > 0 ? recorded : (p.lastModified?.getTime() ?? 0),
    checksums: p.contentMD5 && p.contentMD5.length === 16 ? [{ algorithm: 'md5', value: Buffer.from(p.contentMD5).toString('hex') }] : [],
    ...(p.etag ? { version: p.etag } : {}),
    ...(p.accessTier ? { storageClass: p.accessTier } : {}),
  };
}

function normalizePrefix(prefix: string | undefined): string {
  const p = (prefix ?? '').replace(/^\/+/, '');
  return p === '' || p.endsWith('/') ? p : `${p}/`;
}

/**
 * Credentials, in order: the mounted Secret's connectionString, accountName+accountKey, or
 * sasToken; then, in local mode, AZURE_STORAGE_CONNECTION_STRING.
 */
function serviceClient(spec: AzureBlobEndpoint, side: Side, pipeline: StoragePipelineOptions, opts: AzureBlobBackendOptions): BlobServiceClient {
  const secret = (key: string) => readSecret(side, key, opts.secretsRoot)?.trim();
  const connectionString = secret('connectionString');
  if (connectionString) return BlobServiceClient.fromConnectionString(connectionString, pipeline);
  const accountName = secret('accountName') ?? spec.account;
  const url = (spec.endpoint ?? (accountName ? `https://${accountName}.blob.core.windows.net` : '')).replace(/\/+$/, '');
  const accountKey = secret('accountKey');
  if (accountKey && accountName && url) return new BlobServiceClient(url, new StorageSharedKeyCredential(accountName, accountKey), pipeline);
  const sas = secret('sasToken');
  if (sas && url) return new BlobServiceClient(`${url}?${sas.replace(/^\?/, '')}`, undefined, pipeline);
  const envConnectionString = (opts.env ?? process.env)['AZURE_STORAGE_CONNECTION_STRING'];
  if (envConnectionString) return BlobServiceClient.fromConnectionString(envConnectionString, pipeline);
  throw new DataSyncError(
    redact(
      `azureBlob ${side}: no credentials for container ${spec.container}: mount a Secret with connectionString, accountName+accountKey or sasToken` +
        (url ? '' : ', and set account or endpoint'),
    ),
    { code: 'InvalidConfig', side: 'config' },
  );
}
