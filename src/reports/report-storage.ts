import { createHash } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';

export interface StoredFile {
  sizeBytes: number;
  sha256: string;
  /** The file, to keep in the database; null when it was written under the reports folder. */
  content: Buffer | null;
  /** Where under the reports folder; null when kept in the database. */
  filePath: string | null;
}

/**
 * A report file being written: hashed and counted as it goes, and kept in memory for the
 * database or streamed to `<reportsDir>/<organization>/<report>.<ext>`.
 */
export class ReportFileWriter {
  readonly #hash = createHash('sha256');
  readonly #chunks: Buffer[] = [];
  readonly #stream: fs.WriteStream | undefined;
  readonly #reportsDir: string | undefined;
  readonly #relativePath: string | null;
  #size = 0;

  private constructor(reportsDir: string | undefined, relativePath: string) {
    this.#reportsDir = reportsDir;
    this.#relativePath = reportsDir ? relativePath : null;
    if (reportsDir) this.#stream = fs.createWriteStream(path.join(reportsDir, relativePath), { flags: 'w' });
  }

  static async open(reportsDir: string | undefined, organizationId: string, fileName: string): Promise<ReportFileWriter> {
    if (reportsDir) await fs.promises.mkdir(path.join(reportsDir, organizationId), { recursive: true });
    const writer = new ReportFileWriter(reportsDir, path.join(organizationId, fileName));
    if (writer.#stream) await Promise.race([once(writer.#stream, 'open'), once(writer.#stream, 'error').then(([error]) => Promise.reject(error))]);
    return writer;
  }

  async write(chunk: Buffer | string): Promise<void> {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    this.#hash.update(buffer);
    this.#size += buffer.length;
    if (!this.#stream) {
      this.#chunks.push(buffer);
      return;
    }
    if (!this.#stream.write(buffer)) await once(this.#stream, 'drain');
  }

  async finish(): Promise<StoredFile> {
    if (this.#stream) {
      this.#stream.end();
      await once(this.#stream, 'finish');
    }
    return {
      sizeBytes: this.#size,
      sha256: this.#hash.digest('hex'),
      content: this.#stream ? null : Buffer.concat(this.#chunks),
      filePath: this.#relativePath,
    };
  }

  /** Drops what was written (the report failed or was deleted meanwhile). */
  async discard(): Promise<void> {
    this.#chunks.length = 0;
    if (this.#stream) {
      this.#stream.destroy();
      await removeReportFile(this.#reportsDir, this.#relativePath);
    }
  }
}

export async function removeReportFile(reportsDir: string | undefined, relativePath: string | null): Promise<void> {
  if (!reportsDir || !relativePath) return;
  await fs.promises.rm(path.join(reportsDir, relativePath), { force: true });
}

/** Removes every report file of an organization (it has been deleted). */
export async function removeOrganizationReportFiles(reportsDir: string | undefined, organizationId: string): Promise<void> {
  if (!reportsDir) return;
  await fs.promises.rm(path.join(reportsDir, organizationId), { recursive: true, force: true });
}

/** The stored file, opened for streaming from the reports folder; rejects when it cannot be opened. */
export async function openReportFile(reportsDir: string, relativePath: string): Promise<fs.ReadStream> {
  const stream = fs.createReadStream(path.join(reportsDir, relativePath));
  await Promise.race([once(stream, 'open'), once(stream, 'error').then(([error]) => Promise.reject(error))]);
  return stream;
}
