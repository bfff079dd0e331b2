/** The icons the views use (lucide, tree-shaken), rendered as inline SVG. */

import {
  Bold,
  ChartLine,
  Code,
  CodeXml,
  Copy,
  FilePlus,
  FileText,
  Heading1,
  Heading2,
  Heading3,
  Italic,
  Link,
  List,
  ListOrdered,
  ListTodo,
  MessageSquarePlus,
  Minus,
  Pilcrow,
  Redo2,
  RefreshCw,
  Strikethrough,
  TextQuote,
  Undo2,
  X,
  createElement,
  type IconNode,
} from 'lucide'

export const ICONS = {
  bold: Bold,
  code: Code,
  codeBlock: CodeXml,
  copy: Copy,
  newReport: FilePlus,
  report: FileText,
  heading1: Heading1,
  heading2: Heading2,
  heading3: Heading3,
  italic: Italic,
  link: Link,
  bulletList: List,
  orderedList: ListOrdered,
  taskList: ListTodo,
  divider: Minus,
  paragraph: Pilcrow,
  redo: Redo2,
  retry: RefreshCw,
  strike: Strikethrough,
  quote: TextQuote,
  undo: Undo2,
  close: X,
  chart: ChartLine,
  comment: MessageSquarePlus,
} satisfies Record<string, IconNode>

export type IconName = keyof typeof ICONS

/** A decorative icon: the control that holds it carries the accessible name. */
export function icon(name: IconName, size = 18): SVGElement {
  return createElement(ICONS[name], {
    width: size,
    height: size,
    'stroke-width': 2,
    'aria-hidden': 'true',
    focusable: 'false',
  })
}
