/** What the cluster scenario runs with (bench-options.ts fills it in). */
export interface ClusterSettings {
  /** Triggers per setting. */
  triggers: number;
  /** Triggers per chunk job (PRODUCER_CHUNK_SIZE). */
  chunkSize: number;
  /** QUEUE_PARTITIONS settings to compare, in order. */
  partitions: number[];
  /** The simulated Salesforce's latency per call, ms. */
  latencyMs: number;
  /**
   * A Redis Cluster to use (`redis://host:port,host:port,…`), each setting under a fresh prefix
   * removed at the end; undefined: a private 3-master cluster, started and stopped.
   */
  clusterUrl: string | undefined;
}
