/**
 * The stores a client suite runs against: the file store, and a real Ceph RGW when ceph is
 * installed. Each suite starts its own gateway, so suites in different files stay independent.
 *
 *   for (const store of storesUnderTest()) describe(`x (${store.name})`, { skip: store.skip }, () => {
 *     before(async () => { opened = await store.open('prefix'); server = await startServer({ ...opened.env }); });
 *     after(async () => { await server.stop(); await opened.close(); });
 *   });
 */
import { rgwSkipReason, startRgw } from './rgw.ts';

export interface OpenedStore {
  /** Environment for the server (REPOD_STORAGE and credentials); empty for the default file store. */
  env: Record<string, string>;
  close(): Promise<void>;
}

export interface StoreUnderTest {
  name: string;
  /** Why the suite cannot run here, or false. */
  skip: string | false;
  /** `prefix` names the suite's folder in the bucket. */
  open(prefix: string): Promise<OpenedStore>;
}

export function storesUnderTest(): StoreUnderTest[] {
  return [
    { name: 'file store', skip: false, open: async () => ({ env: {}, close: async () => undefined }) },
    {
      name: 'Ceph RGW',
      skip: rgwSkipReason(),
      open: async (prefix) => {
        const rgw = await startRgw();
        return { env: { ...rgw.env, REPOD_STORAGE: `s3://${rgw.bucket}/${prefix}` }, close: () => rgw.stop() };
      },
    },
  ];
}
