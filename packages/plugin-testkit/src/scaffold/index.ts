export { scaffoldProviderPackage, providerNameOf, type ScaffoldOptions, type ScaffoldResult } from './scaffold-provider.js';
