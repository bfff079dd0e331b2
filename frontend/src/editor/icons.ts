/** The icons of the editor's blocks and slash menu (lucide, tree-shaken), as inline SVG. */

import {
  ChartLine,
  CodeXml,
  Heading1,
  Heading2,
  Heading3,
  Image,
  Info,
  Lightbulb,
  List,
  ListOrdered,
  ListTodo,
  Megaphone,
  MessageSquareWarning,
  Minus,
  OctagonAlert,
  Pencil,
  Radical,
  Sigma,
  TableOfContents,
  TextQuote,
  TriangleAlert,
  createElement,
  type IconNode,
} from 'lucide'

const ICONS = {
  heading1: Heading1,
  heading2: Heading2,
  heading3: Heading3,
  bulletList: List,
  orderedList: ListOrdered,
  taskList: ListTodo,
  codeBlock: CodeXml,
  quote: TextQuote,
  callout: Megaphone,
  blockMath: Sigma,
  inlineMath: Radical,
  image: Image,
  divider: Minus,
  tableOfContents: TableOfContents,
  panelGrid: ChartLine,
  edit: Pencil,
  note: Info,
  tip: Lightbulb,
  important: MessageSquareWarning,
  warning: TriangleAlert,
  caution: OctagonAlert,
} satisfies Record<string, IconNode>

export type BlockIconName = keyof typeof ICONS

/** A decorative icon: the control or text next to it carries the meaning. */
export function blockIcon(name: BlockIconName, size = 18): SVGElement {
  return createElement(ICONS[name], { width: size, height: size, 'stroke-width': 2, 'aria-hidden': 'true', focusable: 'false' })
}
