/**
 * The first `limit` items of a Temporal listing that `pick` keeps (it answers undefined to drop
 * one), mapped as they come; no page after the one that completes them is read.
 */
export async function firstOf<T, R>(listing: AsyncIterable<T>, limit: number, pick: (item: T) => R | undefined): Promise<R[]> {
  const picked: R[] = [];
  if (limit <= 0) return picked;
  for await (const item of listing) {
    const kept = pick(item);
    if (kept === undefined) continue;
    picked.push(kept);
    if (picked.length >= limit) break;
  }
  return picked;
}
