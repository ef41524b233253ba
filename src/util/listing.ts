/**
 * The shape every registry's list function returns (listDatasets, listBackbones, listHeads, listPairLosses,
 * listExperiments, listEmbedders): one item per registered entry with its name and a one-line description, plus
 * fields of that registry (a head's paper, an experiment's run counts, an embedder's availability). Sorted by
 * name, but experiments, which keep the order they were registered in.
 */
export interface RegistryListing {
  /** The name to pass to the registry's create/get function or to a config. */
  name: string;
  /** One line: what the entry is. */
  description: string;
}

/**
 * The listing of a registry's entries, sorted by name: `{ name, description }` plus the entry fields named in
 * `fields` (e.g. a head's `paper`).
 */
export function listingOf<E extends { description: string }, K extends keyof E = never>(
  entries: ReadonlyMap<string, E>, fields: readonly K[] = [],
): (RegistryListing & Pick<E, K>)[] {
  return [...entries.keys()].sort().map((name) => {
    const e = entries.get(name) as E;
    const item: Record<string, unknown> = { name, description: e.description };
    for (const f of fields) item[f as string] = e[f];
    return item as RegistryListing & Pick<E, K>;
  });
}
