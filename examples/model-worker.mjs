// The example page's model runs here, in a Web Worker: the page's thread only paints the tokens.
import { serveModel } from '../dist/bundles/browser/wavelet-gpt.mjs';

serveModel();
