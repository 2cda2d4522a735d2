// The parsed /proc/<pid>/net/* files of one target, read at most once per cycle and shared by
// every collector. A missing optional file (sockstat6 without IPv6) is `undefined`.
import { isGone, shortReadIsEnd, unlessGone } from '../procfs/read';
import { KeptFiles } from '../procfs/kept';
import { parseSockstat, Sockstat } from '../procfs/sockstat';
import { TcpHeaderMemo, tcpCurrEstab } from '../procfs/snmp';
import { CounterTable, parseCounterTable } from '../procfs/netstat';
import { parseSnmp6 } from '../procfs/snmp6';
import { NetDev, parseNetDev } from '../procfs/netdev';
import { parseTcpTable, TcpTable } from '../procfs/tcp-table';
import { Target, TargetGoneError } from '../core/model';
import { LimitError, MalformedError } from './fields';

/** snmp sections the snmp collector reads (the protocols collector asks for its own). */
const SNMP_PROTOCOLS = ['Tcp', 'Udp'];
/** Its cache key (counters()), made once. */
const SNMP_KEY = `snmp:${SNMP_PROTOCOLS.join(',')}`;
/** The Tcp header line of snmp as last seen (tcpCurrEstab): the same in every namespace. */
const TCP_HEADER: TcpHeaderMemo = { count: 0, at: -1 };

/** The files of counters in sections (procfs/netstat.ts, procfs/snmp6.ts). */
export type CounterFile = 'snmp' | 'netstat' | 'snmp6';

/** `text:<file>`, made once per file name (a template per call made a string per read). */
const TEXT_KEYS = new Map<string, string>();
function textKey(file: string): string {
  let k = TEXT_KEYS.get(file);
  if (k === undefined) TEXT_KEYS.set(file, (k = `text:${file}`));
  return k;
}

export class NetFiles {
  /** Parsed files and texts by key, made on first use (most targets need only the fields below). */
  private cache?: Map<string, unknown>;
  // The three files every default collector reads, held in fields (a Map lookup by name per call
  // was a measurable part of the orphans collector's per-target cost): undefined until read;
  // sockstat6 null when absent.
  private sockstatV?: Sockstat;
  private sockstat6V?: Sockstat | null;
  /** snmp Tcp: CurrEstab; null when the file has none (reported as malformed by the snmp collector). */
  private estabV?: number | null;
  private dir?: string;
  /** Files whose problems were recorded this cycle, made on first use. */
  private reported?: Set<string>;
  /** NetFiles.identity(target), made once for the cycle's reads of this target. */
  private readonly id: string;
  /**
   * Whether a read for this target opened a file this cycle (instead of reading a descriptor kept
   * from an earlier cycle, bound to the namespace the target had then): the collect stage then
   * checks the pid is still in the target's namespace (stage.ts).
   */
  opened = false;
  /** Malformed-file findings (and bounds reached) that did not stop the other numbers from being read. */
  readonly problems: (MalformedError | LimitError)[] = [];

  constructor(
    private readonly files: KeptFiles,
    private readonly procRoot: string,
    readonly target: Target,
  ) {
    this.id = NetFiles.identity(target);
  }

  /** What kept descriptors of this target are bound to: its namespace and its process. */
  static identity(t: Target): string {
    return `${t.netns}:${t.pid}:${t.pidStart}`;
  }

  /** sockstat is present in every network namespace: missing means the process left. */
  sockstat(): Sockstat {
    return (this.sockstatV ??= parseSockstat(this.required('sockstat')));
  }

  /** Absent when the kernel has no IPv6 (module not loaded or ipv6.disable=1). */
  sockstat6(): Sockstat | undefined {
    if (this.sockstat6V === undefined) {
      const text = this.optional('sockstat6');
      this.sockstat6V = text === undefined ? null : parseSockstat(text);
    }
    return this.sockstat6V ?? undefined;
  }

  /**
   * snmp `Tcp: CurrEstab` (the snmp collector's and orphans' one number from this file): read in
   * place while the text is plainly well formed, else from the parsed Tcp section, whose problems
   * are recorded. Undefined when the file has no such value.
   */
  currEstab(): number | undefined {
    if (this.estabV === undefined) {
      const fast = tcpCurrEstab(this.text('snmp')!, TCP_HEADER);
      this.estabV = fast ?? this.counters('snmp', SNMP_PROTOCOLS)!.sections.Tcp?.CurrEstab ?? null;
    }
    return this.estabV ?? undefined;
  }

  /**
   * A file of counters, parsed once per cycle for each set of sections asked for (`only`,
   * undefined: all). snmp is present in every namespace; netstat and snmp6 may be absent
   * (undefined). What is wrong with the text is recorded once, by the first parse.
   */
  counters(file: CounterFile, only?: readonly string[]): CounterTable | undefined {
    const key = file === 'snmp' && only === SNMP_PROTOCOLS ? SNMP_KEY : `${file}:${only?.join(',') ?? '*'}`;
    return this.memo(key, () => {
      const text = this.text(file);
      if (text === undefined) return undefined;
      const table = file === 'snmp6' ? parseSnmp6(text) : parseCounterTable(text, only);
      this.damaged(file, table.problems);
      return table;
    });
  }

  /** A counter file's text, read once per cycle (snmp always exists; netstat, snmp6 may not). */
  text(file: CounterFile): string | undefined {
    return this.memo(textKey(file), () => (file === 'snmp' ? this.required(file) : this.optional(file)));
  }

  /**
   * A counter file read without making its text, for a parser that reads the bytes in place
   * (protocol-layouts.ts): `buf`'s first `len` bytes, valid only until the next read of any file;
   * null when the file is absent. Undefined when its text was already made this cycle: use text().
   * A caller that needs the text after all gives it back with keepText, so the file is not read twice.
   */
  bytes(file: 'netstat' | 'snmp6'): { buf: Buffer; len: number } | null | undefined {
    if (this.cache?.has(textKey(file))) return undefined;
    const len = unlessGone(() => this.fill(this.netDir(), file, shortReadIsEnd(file)));
    if (len === undefined) {
      this.required('sockstat'); // as optional(): absent, or the process left?
      (this.cache ??= new Map()).set(textKey(file), undefined);
      return null;
    }
    return { buf: this.files.buffer, len };
  }

  /** The text of a file read by bytes(), made by the caller from those bytes: text() returns it. */
  keepText(file: CounterFile, text: string): void {
    (this.cache ??= new Map()).set(textKey(file), text);
  }

  /** Records what is wrong with a file a collector parsed itself, once per file and cycle. */
  damaged(file: CounterFile, problems: readonly string[]): void {
    if (problems.length === 0 || this.reported?.has(file)) return;
    (this.reported ??= new Set()).add(file);
    this.problems.push(new MalformedError(this.path(file), problems.join('; ')));
  }

  /** The namespace's interfaces; undefined when the file is absent. */
  netdev(): NetDev | undefined {
    return this.memo('dev', () => {
      const text = this.optional('dev');
      if (text === undefined) return undefined;
      const dev = parseNetDev(text);
      if (dev.problems.length > 0) this.problems.push(new MalformedError(this.path('dev'), dev.problems.join('; ')));
      return dev;
    });
  }

  /** Records a bound a collector reached (reported like a malformed file: counted, numbers kept). */
  report(err: LimitError): void {
    this.problems.push(err);
  }

  /**
   * The socket table of IPv4 TCP, read at most once per cycle however many collectors want it.
   * Costly: the kernel walks the host's whole TCP hash table for every namespace (orphans.ts).
   */
  tcp(): TcpTable {
    return this.memo('tcp', () => this.table('tcp', parseTcpTable(this.required('tcp'))));
  }

  /** The IPv6 socket table; absent when the kernel has no IPv6. */
  tcp6(): TcpTable | undefined {
    return this.memo('tcp6', () => {
      const text = this.optional('tcp6');
      return text === undefined ? undefined : this.table('tcp6', parseTcpTable(text));
    });
  }

  /** sockstat read again now, not the copy read earlier this cycle (orphans.ts re-checks the host-wide count). */
  sockstatAgain(): Sockstat {
    return (this.sockstatV = parseSockstat(this.required('sockstat')));
  }

  /** Whether `file` was already read this cycle (then its method costs nothing). */
  wasRead(file: 'sockstat' | 'sockstat6' | 'snmp' | 'tcp' | 'tcp6'): boolean {
    switch (file) {
      case 'sockstat':
        return this.sockstatV !== undefined;
      case 'sockstat6':
        return this.sockstat6V !== undefined;
      case 'snmp':
        return this.estabV !== undefined || this.cache?.has(textKey('snmp')) === true;
      default:
        return this.cache?.has(file) === true;
    }
  }

  /** The text of an optional file under net/ (`stat/nf_conntrack`); undefined when it does not exist. */
  optionalText(file: string): string | undefined {
    return this.memo(textKey(file), () => this.optional(file));
  }

  /**
   * The text of a file of the proc root itself (`sys/net/netfilter/nf_conntrack_max`), read through
   * this target's kept descriptors; undefined when it does not exist. /proc/sys shows the reading
   * process's own namespace, whatever the target: only for host-wide values.
   */
  rootText(rel: string): string | undefined {
    return unlessGone(() => this.read(`${this.procRoot}/`, rel, rel.startsWith('sys/') ? Infinity : 0));
  }

  /** Records that `file` lacks fields it always has; what could be read is still reported. */
  malformed(file: string, missing: string[]): void {
    this.problems.push(new MalformedError(this.path(file), `missing or invalid ${missing.join(', ')}`));
  }

  private table(file: string, t: TcpTable): TcpTable {
    if (t.malformed > 0) this.malformed(file, [`${t.malformed} socket line(s)`]);
    return t;
  }

  private memo<T>(name: string, load: () => T): T {
    const cache = (this.cache ??= new Map());
    if (!cache.has(name)) cache.set(name, load());
    return cache.get(name) as T;
  }

  private path(file: string): string {
    return `${this.procRoot}/${this.target.pid}/net/${file}`;
  }

  private required(file: string): string {
    try {
      return this.read(this.netDir(), file, shortReadIsEnd(file));
    } catch (err) {
      if (isGone(err)) throw new TargetGoneError(this.target.pid, err);
      throw err;
    }
  }

  /** `<procRoot>/<pid>/net/`, made once per target and cycle. */
  private netDir(): string {
    return (this.dir ??= `${this.procRoot}/${this.target.pid}/net/`);
  }

  private read(dir: string, name: string, endBelow: number): string {
    const len = this.fill(dir, name, endBelow); // first: the buffer may grow, and be another one
    return this.files.buffer.toString('latin1', 0, len);
  }

  /** Reads into the kept files' buffer; returns the length. */
  private fill(dir: string, name: string, endBelow: number): number {
    const before = this.files.opened;
    try {
      return this.files.fill(this.id, dir, name, endBelow);
    } finally {
      if (this.files.opened !== before) this.opened = true;
    }
  }

  private optional(file: string): string | undefined {
    const text = unlessGone(() => this.read(this.netDir(), file, shortReadIsEnd(file)));
    // ENOENT on an optional file is ambiguous: no IPv6, or the process just exited. Ask sockstat,
    // which always exists while the process does.
    if (text === undefined) this.required('sockstat');
    return text;
  }
}
