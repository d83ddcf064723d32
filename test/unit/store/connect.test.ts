import { describe, expect, it } from 'vitest';
import { MONGO_CLIENT_OPTIONS, mongoClientOptions } from '../../../shared/store/internal.js';

describe('mongoClientOptions', () => {
  it('reads Int64 as bigint and bounds the pool below what wedges FerretDB', () => {
    expect(mongoClientOptions('mongodb://127.0.0.1:27017/')).toEqual(MONGO_CLIENT_OPTIONS);
    expect(MONGO_CLIENT_OPTIONS.useBigInt64).toBe(true);
    expect(MONGO_CLIENT_OPTIONS.maxPoolSize).toBeLessThanOrEqual(20);
  });

  it('lets an option set in the URL win over ours, whatever its case', () => {
    const options = mongoClientOptions('mongodb://a:1,b:2/?replicaSet=rs0&MAXPOOLSIZE=200&appName=ops');
    expect(options.maxPoolSize).toBeUndefined();
    expect(options.appName).toBeUndefined();
    expect(options.useBigInt64).toBe(true);
  });
});
