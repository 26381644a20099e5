// DOM-free (unit-tested in Node): where the picture, the side panel and the on-screen pad go.

/** A width and a height, px. */
export interface Size {
  width: number;
  height: number;
}

/** A box inside the stage, px from its top-left corner. */
export interface Box extends Size {
  x: number;
  y: number;
}

/** What `layoutStage` arranges. */
export interface LayoutStageParameters {
  /** The stage: the area below (or beside) the control bar. */
  stage: Size;
  /** The picture's aspect as shown (width / height). */
  aspect: number;
  /** The on-screen pad's height and its two clusters' widths (undefined: no pad shown). */
  pad: { height: number; leftWidth: number; rightWidth: number } | undefined;
  /** The side panel's natural size: stats, prompts, a bill (undefined: nothing in it). */
  side: Size | undefined;
  /** Space between the parts, px (default 8). */
  gap?: number;
}

/** Where `layoutStage` put things. */
export interface StageLayout {
  /** `below`: side panel and pad under the picture; `beside`: side panel right of it, pad over its corners. */
  mode: 'below' | 'beside';
  /** The picture. */
  screen: Box;
  /** The side panel (undefined when it is empty). */
  side: Box | undefined;
  /** The pad's two clusters, in the stage's bottom corners (undefined without a pad). */
  pad: { left: Box; right: Box } | undefined;
  /** True when the pad lies over the picture: the screen leaves no room beside or below it. */
  padOverScreen: boolean;
}

/** Below wins while its picture keeps at least this share of the area the side-by-side layout gives. */
const PREFER_BELOW = 0.8;

function fitAspect(width: number, height: number, aspect: number): Size {
  const w = Math.max(0, Math.min(width, height * aspect));
  return { width: Math.floor(w), height: Math.floor(w / aspect) };
}

function overlaps(a: Box, b: Box): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

/**
 * Lays out the play stage so the picture gets the largest area that covers nothing else: the biggest
 * rectangle of the picture's aspect that leaves room for the side panel and the on-screen pad, either
 * stacked under the picture (portrait screens) or with the side panel in a column to its right and the
 * pad in the bottom corners (landscape screens, where the pad goes over the picture's corners when the
 * margins are too narrow: a phone held sideways). Stacking wins unless it costs more than a fifth of
 * the picture. The side panel never overlaps the pad: it starts at the top, the pad sits at the bottom.
 */
export function layoutStage(parameters: LayoutStageParameters): StageLayout {
  const { stage, aspect, pad, side } = parameters;
  const gap = parameters.gap ?? 8;
  const W = Math.max(0, stage.width);
  const H = Math.max(0, stage.height);
  const padBoxes =
    pad === undefined
      ? undefined
      : {
          left: { x: 0, y: H - pad.height, width: pad.leftWidth, height: pad.height },
          right: { x: W - pad.rightWidth, y: H - pad.height, width: pad.rightWidth, height: pad.height },
        };

  // Stacked: picture at the top (centred when nothing goes under it), then the side panel, then the pad.
  const reserved = (pad ? pad.height + gap : 0) + (side ? side.height + gap : 0);
  const below = fitAspect(W, H - reserved, aspect);
  const belowTop =
    pad !== undefined ? 0 : Math.max(0, (H - (below.height + (side ? side.height + gap : 0))) / 2);
  // Side by side: the side panel in a column on the right, the picture centred in what is left.
  const column = side ? Math.min(side.width, W) + gap : 0;
  const beside = fitAspect(W - column, H, aspect);

  if (below.width * below.height >= PREFER_BELOW * beside.width * beside.height) {
    const screen = { x: Math.floor((W - below.width) / 2), y: Math.floor(belowTop), ...below };
    return {
      mode: 'below',
      screen,
      side: side && {
        x: Math.max(0, Math.min(screen.x, W - side.width)),
        y: screen.y + screen.height + gap,
        width: Math.min(side.width, W),
        height: side.height,
      },
      pad: padBoxes,
      padOverScreen:
        padBoxes !== undefined && (overlaps(padBoxes.left, screen) || overlaps(padBoxes.right, screen)),
    };
  }
  const screen = {
    x: Math.floor((W - column - beside.width) / 2),
    y: Math.floor((H - beside.height) / 2),
    ...beside,
  };
  return {
    mode: 'beside',
    screen,
    // Never down into the pad's corner: the panel scrolls inside what is left.
    side: side && {
      x: W - Math.min(side.width, W),
      y: 0,
      width: Math.min(side.width, W),
      height: Math.max(0, Math.min(side.height, pad ? H - pad.height - gap : H)),
    },
    pad: padBoxes,
    padOverScreen:
      padBoxes !== undefined && (overlaps(padBoxes.left, screen) || overlaps(padBoxes.right, screen)),
  };
}
