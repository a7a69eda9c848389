import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';

/**
 * The programs some tests need from the machine, beside node_modules: Debian's poppler-utils
 * (the report tests read the PDFs), chromium (the browser tests) and a Redis (the rate-limit
 * tests). `make test` installs them when it may (scripts/setup-test-env.sh); when one is missing
 * anyway, the tests that need it fail with a message naming it and how to get it, and the rest
 * of the suite runs.
 */
const PACKAGES = {
  pdftoppm: 'poppler-utils',
  pdftotext: 'poppler-utils',
  pdfinfo: 'poppler-utils',
  pdffonts: 'poppler-utils',
  chromium: 'chromium',
} as const;
export type SystemTool = keyof typeof PACKAGES;

/** Debian's Chromium; the browser tests never use a downloaded one. */
export const CHROMIUM = '/usr/bin/chromium';

const SETUP = 'make test installs it when run as root or with passwordless sudo (scripts/setup-test-env.sh)';

/** What a test says when `tool` is missing: what, and the command that installs it. */
export function missingToolMessage(tool: SystemTool): string {
  const what = tool === 'chromium' ? `${CHROMIUM} is missing` : `${tool} is missing`;
  return `${what}: install Debian's ${PACKAGES[tool]} package (sudo apt-get install -y ${PACKAGES[tool]}); ${SETUP}`;
}

/** Fails (throws a plain Error with `missingToolMessage`) when Chromium is not at `CHROMIUM`. */
export function requireChromium(): string {
  if (!fs.existsSync(CHROMIUM)) throw new Error(missingToolMessage('chromium'));
  return CHROMIUM;
}

/**
 * Runs `tool` and answers its standard output. A missing tool, or one that fails, throws a
 * plain Error saying so. (The error `execFileSync` throws refers to itself, through its `error`
 * property: a jest worker cannot pass it on, and the whole file then dies with "Converting
 * circular structure to JSON" instead of failing this one test.)
 */
export function runTool(tool: SystemTool, args: string[]): string {
  try {
    return execFileSync(tool, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { status?: number | null; signal?: string | null; stderr?: string };
    // No `cause`: the point is to leave the self-referring error behind.
    /* eslint-disable preserve-caught-error */
    if (failure.code === 'ENOENT') throw new Error(missingToolMessage(tool));
    const how = failure.status != null ? `exit code ${failure.status}` : (failure.signal ?? failure.code ?? 'error');
    throw new Error(`${tool} ${args.join(' ')} failed (${how}): ${(failure.stderr ?? failure.message).trim()}`);
    /* eslint-enable preserve-caught-error */
  }
}

/** The Redis the rate-limit tests use: `TEST_REDIS_URL`, else the local one. */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * Fails with a message saying how to get one when no Redis answers PING at `url` within a
 * second. Call it before opening a client, whose reconnection attempts would otherwise keep the
 * test process alive.
 */
export async function requireRedis(url = TEST_REDIS_URL): Promise<void> {
  const { hostname, port } = new URL(url);
  const answer = await new Promise<string>((resolve) => {
    const socket = net.connect({ host: hostname || '127.0.0.1', port: Number(port || 6379) });
    const done = (reply: string) => {
      socket.destroy();
      resolve(reply);
    };
    socket.setTimeout(1000, () => done('no answer within a second'));
    socket.on('error', (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
    socket.on('connect', () => socket.write('PING\r\n'));
    // A Redis with a password answers -NOAUTH: it is there, the client will authenticate.
    socket.on('data', (data) => done(/^(\+PONG|-NOAUTH)/.test(data.toString()) ? 'ok' : data.toString().trim()));
  });
  if (answer === 'ok') return;
  const local = url === 'redis://127.0.0.1:6379';
  throw new Error(
    `no Redis answers at ${url} (${answer}): ` +
      (local
        ? "install Debian's redis-server package (sudo apt-get install -y redis-server) and start it " +
          "(redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save '' --appendonly no); make test does both when it may (scripts/setup-test-env.sh)"
        : 'start it, or unset TEST_REDIS_URL to use one at 127.0.0.1:6379'),
  );
}
