#!/usr/bin/env node
// The `farplay-edge` bin: loads the TypeScript CLI through tsx from wherever it is run.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./farplay-edge.ts');
main();
