export {
  type ClusterNodeInfo,
  masterOf,
  parseClusterNodes,
  type RedisClusterOptions,
  type RedisClusterProcess,
  startRedisCluster,
} from './redis-cluster-process.js';
export { freePort, type RedisServerProcess, startRedisServer } from './redis-server-process.js';
