/**
 * Redis Cluster's key → slot mapping (the cluster specification): CRC16 (XMODEM: polynomial
 * 0x1021, initial value 0) of the key, or of its hash tag, modulo 16384. The hash tag is the
 * text between the first `{` and the first `}` after it, when that text is not empty.
 */

/** Slots of a Redis Cluster. */
export const CLUSTER_SLOTS = 16_384;

const TABLE = (() => {
  const table = new Uint16Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << 8;
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
    table[byte] = crc;
  }
  return table;
})();

/** CRC16/XMODEM of `data` (UTF-8 for a string). */
export function crc16(data: string | Uint8Array): number {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let crc = 0;
  for (const byte of bytes) {
    crc = ((crc << 8) & 0xffff) ^ (TABLE[((crc >> 8) ^ byte) & 0xff] ?? 0);
  }
  return crc;
}

/** The part of `key` that Redis Cluster hashes: its hash tag, or the whole key. */
export function hashTag(key: string): string {
  const open = key.indexOf('{');
  if (open === -1) return key;
  const close = key.indexOf('}', open + 1);
  if (close === -1 || close === open + 1) return key;
  return key.slice(open + 1, close);
}

/** The cluster slot of `key` (what `CLUSTER KEYSLOT key` answers). */
export function keySlot(key: string): number {
  return crc16(hashTag(key)) % CLUSTER_SLOTS;
}
