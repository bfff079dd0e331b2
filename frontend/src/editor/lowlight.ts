/**
 * lowlight with highlight.js's common languages: about 160 kB of grammars, so
 * it is its own chunk, loaded when a report first shows a code block
 * (codeHighlight.ts `loadLowlight`).
 */

import { common, createLowlight } from 'lowlight'

export const lowlight = createLowlight(common)
