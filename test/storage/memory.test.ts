import { MemoryStore } from '../../src/storage/memory.ts';
import { blobStoreContract } from './contract.ts';

blobStoreContract('memory', async () => ({ store: new MemoryStore() }), { boundedMemory: false, etagPerWrite: true, largeSize: 16 * 1024 * 1024 });
