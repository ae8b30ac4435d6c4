// GPT-2's BPE table (r50k_base), from the js-tiktoken package. The build (scripts/build-bundles.mjs)
// replaces this module in dist with the table itself, so that the published package does not
// depend on js-tiktoken (22 MB, almost all of it other tables) for half a megabyte of it.
export { default } from 'js-tiktoken/ranks/r50k_base';
