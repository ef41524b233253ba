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
