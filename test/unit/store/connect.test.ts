import { describe, expect, it } from 'vitest';
import { MONGO_CLIENT_OPTIONS, REPLICA_SET_OPTIONS, mongoClientOptions } from '../../../shared/store/internal.js';

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

  it('writes with w: majority and retryable writes when the URL names a replica set, not on a standalone (FerretDB)', () => {
    for (const url of ['mongodb://a:1,b:2,c:3/tally?replicaSet=rs0', 'mongodb+srv://cluster0.example.net/']) {
      expect(mongoClientOptions(url)).toMatchObject({ writeConcern: { w: 'majority' }, retryWrites: true, useBigInt64: true });
    }
    expect(REPLICA_SET_OPTIONS).toEqual({ writeConcern: { w: 'majority' }, retryWrites: true });
    const standalone = mongoClientOptions('mongodb://127.0.0.1:27017/');
    expect(standalone.writeConcern).toBeUndefined();
    expect(standalone.retryWrites).toBeUndefined();
  });

  it('leaves the write concern and retryWrites to a replica-set URL that sets them', () => {
    const options = mongoClientOptions('mongodb://a:1,b:2/?replicaSet=rs0&w=1&retryWrites=false');
    expect(options.writeConcern).toBeUndefined();
    expect(options.retryWrites).toBeUndefined();
    expect(mongoClientOptions('mongodb://a:1/?replicaSet=rs0&journal=true').writeConcern).toBeUndefined();
  });
});
