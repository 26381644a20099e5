#!/usr/bin/env node
// The `farplay` bin (`farplay studio …`): loads the TypeScript CLI through tsx from wherever it is run.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./farplay.ts');
main();
