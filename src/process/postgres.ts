import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Env } from '../config/env';
import { isExecutable, onPath } from './child-process';

const run = promisify(execFile);
/** PostgreSQL refuses to run as root: as root, the cluster runs it as this system user, created when missing. */
export const POSTGRES_OS_USER = 'chorus-postgres';

/** The folder holding initdb, pg_ctl and postgres: on PATH, else Debian's newest /usr/lib/postgresql/N/bin. */
export function findPostgresBin(env: Env): string {
  const onPathInitdb = onPath('initdb', env);
  if (onPathInitdb) return join(onPathInitdb, '..');
  const debianRoot = '/usr/lib/postgresql';
  const versions = existsSync(debianRoot)
    ? readdirSync(debianRoot)
        .filter((name) => isExecutable(join(debianRoot, name, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (!versions.length)
    throw new Error('PostgreSQL server binaries not found: apt-get install -y postgresql, or set CHORUS_POSTGRES_BIN to the folder holding initdb');
  return join(debianRoot, versions[0], 'bin');
}

export interface PrivatePostgresOptions {
  /** Holds `data/` (the cluster), `postgres.log` and the generated password. */
  dir: string;
  port: number;
  /** The superuser initdb creates, which Temporal connects as. */
  user: string;
  /** Folder of initdb, pg_ctl and postgres (findPostgresBin). */
  bin: string;
}

/**
 * A PostgreSQL cluster of its own: initdb'd into a private folder, listening on one loopback port
 * (its Unix socket stays in its data folder), password-authenticated, started and stopped with pg_ctl.
 * Never touches a system-wide cluster.
 */
export class PrivatePostgres {
  readonly dataDir: string;
  readonly logFile: string;
  readonly password: string;
  private readonly bin: string;
  private osUser?: string;

  constructor(private readonly options: PrivatePostgresOptions) {
    this.bin = options.bin;
    this.dataDir = join(options.dir, 'data');
    this.logFile = join(options.dir, 'postgres.log');
    mkdirSync(options.dir, { recursive: true });
    const passwordFile = join(options.dir, 'password');
    if (!existsSync(passwordFile)) writeFileSync(passwordFile, randomBytes(18).toString('base64url'), { mode: 0o600 });
    this.password = readFileSync(passwordFile, 'utf8').trim();
  }

  get port(): number {
    return this.options.port;
  }

  get user(): string {
    return this.options.user;
  }

  /** initdb on first use; true when it created the cluster (its databases then need creating). */
  async init(): Promise<boolean> {
    await this.prepareOsUser();
    if (existsSync(join(this.dataDir, 'PG_VERSION'))) return false;
    // initdb reads the password from a file the PostgreSQL user can read; it is removed at once.
    const pwfile = join(this.options.dir, 'initdb-password');
    writeFileSync(pwfile, this.password, { mode: 0o600 });
    await this.chownToOsUser(pwfile);
    try {
      await this.pg('initdb', [
        '-D',
        this.dataDir,
        '-U',
        this.options.user,
        `--pwfile=${pwfile}`,
        '--auth-local=scram-sha-256',
        '--auth-host=scram-sha-256',
        '-E',
        'UTF8',
        '--locale=C',
      ]);
    } finally {
      writeFileSync(pwfile, '');
    }
    return true;
  }

  async start(): Promise<void> {
    // A postmaster left over from a killed run holds the port and the data: stop it first.
    if (await this.running()) await this.stop();
    const serverOptions = [`-p ${this.options.port}`, "-c listen_addresses='127.0.0.1'", `-k ${this.dataDir}`, '-c max_connections=300'].join(' ');
    await this.pg('pg_ctl', ['-D', this.dataDir, '-l', this.logFile, '-o', serverOptions, '-w', '-t', '90', 'start']);
  }

  /** Fast shutdown: open sessions are ended, everything committed is on disk. */
  async stop(): Promise<void> {
    if (!(await this.running())) return;
    await this.pg('pg_ctl', ['-D', this.dataDir, '-m', 'fast', '-w', '-t', '90', 'stop']);
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** The postmaster's process ID while it runs (the first line of postmaster.pid); its backends are its children. */
  get pid(): number | undefined {
    const pidFile = join(this.dataDir, 'postmaster.pid');
    if (!existsSync(pidFile)) return undefined;
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  }

  async running(): Promise<boolean> {
    if (!existsSync(join(this.dataDir, 'postmaster.pid'))) return false;
    return this.pg('pg_ctl', ['-D', this.dataDir, 'status']).then(
      () => true,
      () => false,
    );
  }

  private async pg(program: string, args: string[]): Promise<string> {
    const executable = join(this.bin, program);
    const [command, commandArgs] = this.osUser ? ['runuser', ['-u', this.osUser, '--', executable, ...args]] : [executable, args];
    try {
      const { stdout } = await run(command, commandArgs, { encoding: 'utf8' });
      return stdout;
    } catch (error) {
      const failure = error as Error & { stderr?: string; stdout?: string };
      throw new Error(`${program} ${args.join(' ')} failed: ${failure.stderr || failure.stdout || failure.message}`);
    }
  }

  /** As root: the dedicated user exists and owns the folder; its ancestors must let it through. */
  private async prepareOsUser(): Promise<void> {
    if (process.getuid?.() !== 0) return;
    const exists = await run('id', ['-u', POSTGRES_OS_USER]).then(
      () => true,
      () => false,
    );
    if (!exists) {
      await run('useradd', ['--system', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', POSTGRES_OS_USER]).catch(
        async (error: Error) => {
          // Another process may have created it in the meantime.
          if (
            !(await run('id', ['-u', POSTGRES_OS_USER]).then(
              () => true,
              () => false,
            ))
          )
            throw error;
        },
      );
    }
    this.osUser = POSTGRES_OS_USER;
    await run('chown', ['-R', `${POSTGRES_OS_USER}:`, this.options.dir]);
    await run('runuser', ['-u', POSTGRES_OS_USER, '--', 'test', '-w', this.options.dir]).catch(() => {
      throw new Error(
        `${POSTGRES_OS_USER} cannot reach ${this.options.dir}: every folder above it must be searchable (chmod o+x), or choose another CHORUS_CLUSTER_DIR`,
      );
    });
  }

  private async chownToOsUser(path: string): Promise<void> {
    if (this.osUser) await run('chown', [`${this.osUser}:`, path]);
  }
}
