/**
 * The order in which waiting requests join the batch when rows are scarce: the caller (API key)
 * with the fewest rows in the batch goes next, then the one that has had the fewest decoded tokens,
 * and a caller's own requests go in the order they came. One key with ten requests then gets no
 * more of the batch than another with one.
 */
export class FairAdmission<T> {
  private readonly queue: Array<{ caller: string; item: T; arrival: number }> = [];
  /** Tokens decoded per caller since the engine was last idle. */
  private readonly service = new Map<string, number>();
  /** Rows each caller has in the batch now. */
  private readonly rows = new Map<string, number>();
  private arrivals = 0;

  get size(): number {
    return this.queue.length;
  }

  enqueue(caller: string, item: T): void {
    if (!this.service.has(caller)) {
      // A newcomer starts level with the least served caller, neither owed a backlog nor behind.
      const least = Math.min(...this.service.values());
      this.service.set(caller, Number.isFinite(least) ? least : 0);
    }
    this.queue.push({ caller, item, arrival: this.arrivals++ });
  }

  /** The request that should join next, without removing it. */
  peek(): T | undefined {
    let best: (typeof this.queue)[number] | undefined;
    for (const entry of this.queue) {
      if (best === undefined || this.before(entry, best)) {
        best = entry;
      }
    }
    return best?.item;
  }

  /** `item` joins the batch with `rows` rows. */
  take(item: T, rows: number): void {
    const [entry] = this.queue.splice(
      this.queue.findIndex((waiting) => waiting.item === item),
      1,
    );
    this.rows.set(entry.caller, (this.rows.get(entry.caller) ?? 0) + rows);
  }

  /** One of `caller`'s rows left the batch. */
  left(caller: string): void {
    this.rows.set(caller, (this.rows.get(caller) ?? 1) - 1);
  }

  /** Removes and returns the waiting requests `predicate` picks. */
  remove(predicate: (item: T) => boolean): T[] {
    const removed = this.queue.filter((entry) => predicate(entry.item));
    for (const entry of removed) {
      this.queue.splice(this.queue.indexOf(entry), 1);
    }
    return removed.map((entry) => entry.item);
  }

  /** Counts one decoded token for `caller`. */
  served(caller: string): void {
    this.service.set(caller, (this.service.get(caller) ?? 0) + 1);
  }

  /** Idle: nobody is owed anything any more. */
  reset(): void {
    this.service.clear();
    this.rows.clear();
  }

  private before(a: { caller: string; arrival: number }, b: { caller: string; arrival: number }): boolean {
    const rowsA = this.rows.get(a.caller) ?? 0;
    const rowsB = this.rows.get(b.caller) ?? 0;
    if (rowsA !== rowsB) {
      return rowsA < rowsB;
    }
    const servedA = this.service.get(a.caller) ?? 0;
    const servedB = this.service.get(b.caller) ?? 0;
    return servedA < servedB || (servedA === servedB && a.arrival < b.arrival);
  }
}
