// `node --import ./register.mjs out/main/index.js`: boots the built main
// process with `electron` replaced by the stand-in (see hooks.mjs).
import { register } from 'node:module';

register('./hooks.mjs', import.meta.url);
