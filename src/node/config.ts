/**
 * The config sections of every component, registered in one place and in this order (the order
 * their problems are reported in), and the loaders that need them. Load configs through this
 * module: `src/config/` knows no component, so its loaders only see what is registered here.
 * @module
 */
import { adminSection } from '../admin/section.js';
import { registerConfigSection } from '../config/sections.js';
import { forwardSection } from '../forward/config.js';
import { redisSection } from '../redis/config.js';

registerConfigSection(forwardSection);
registerConfigSection(adminSection);
registerConfigSection(redisSection);

export { compileDocument } from './document.js';
export { ConfigError } from '../config/load.js';
export { loadConfigFile, loadConfigOrThrow, loadConfigText } from './load.js';
export { readDocumentFile } from './document-file.js';
export { loadZoneText } from '../zone/load.js';
