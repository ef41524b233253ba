// Mocha root hooks: initialise the tfjs backend once (wasm by default, COREFACE_BACKEND overrides).
import { initBackend } from '../src/backends';

export const mochaHooks = {
  async beforeAll(this: Mocha.Context): Promise<void> {
    this.timeout(60000);
    await initBackend({ quiet: true });
  },
};
