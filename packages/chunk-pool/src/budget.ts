/**
 * The memory budget, split into accounts: the inputs' share and one reserve per output. Every
 * chunk in memory is charged to exactly one account, so the sum of the accounts is the pool's
 * memory, and no account can be overdrawn.
 *
 * The reservation rule lives here: inputs may only charge the inputs' share
 * (`maxBytesUp − outputs × reservePerOutput`); an output brings a stored chunk back up only
 * inside its own reserve, which nothing else can charge. Since `reservePerOutput ≥ chunkBytes`,
 * an output whose reserve is empty can always bring one chunk up.
 *
 * @module
 */

/** One slice of the memory budget. */
export class Account {
  readonly limit: number;
  #bytes = 0;
  #chunks = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get chunks(): number {
    return this.#chunks;
  }

  /** Whether `bytes` more would fit. */
  fits(bytes: number): boolean {
    return this.#bytes + bytes <= this.limit;
  }

  /** Charges `bytes` if they fit; false (and nothing charged) otherwise. */
  tryCharge(bytes: number): boolean {
    if (!this.fits(bytes)) return false;
    this.#bytes += bytes;
    return true;
  }

  /** Returns `bytes` to the account. */
  release(bytes: number): void {
    this.#bytes -= bytes;
  }

  /** Counts a chunk as held by this account (bytes are charged separately, record by record). */
  addChunk(): void {
    this.#chunks += 1;
  }

  removeChunk(): void {
    this.#chunks -= 1;
  }
}

/** The accounts of one pool. */
export class MemoryBudget {
  readonly input: Account;
  readonly #reserves = new Map<string, Account>();

  constructor(inputShare: number, outputs: readonly string[], reservePerOutput: number) {
    this.input = new Account(inputShare);
    for (const output of outputs) {
      this.#reserves.set(output, new Account(reservePerOutput));
    }
  }

  /** The reserve of `output`. */
  reserve(output: string): Account {
    const account = this.#reserves.get(output);
    if (account === undefined) throw new Error(`no reserve for output ${output}`);
    return account;
  }

  /** Bytes in memory across all accounts. */
  get bytesUp(): number {
    let total = this.input.bytes;
    for (const account of this.#reserves.values()) total += account.bytes;
    return total;
  }
}
