// Swedish number formats: `1 234,5` with a no-break space between the thousands, a decimal
// comma and a true minus sign, as Intl gives them for sv-SE. One place, so that every view
// and the browser test agree on what a figure looks like.

const formats = new Map();

function formatter(decimals) {
  if (!formats.has(decimals)) {
    formats.set(decimals, new Intl.NumberFormat("sv-SE", {
      minimumFractionDigits: 0,
      maximumFractionDigits: decimals,
    }));
  }
  return formats.get(decimals);
}

/// A figure with at most `decimals` decimals; a missing one is a dash.
export function number(value, decimals = 2) {
  if (value === null || value === undefined || Number.isNaN(Number(value))) {
    return "–";
  }
  return formatter(decimals).format(Number(value));
}

/// A percentage the API gave (one decimal): `45,5 %`; a missing one is a dash.
export function percent(share) {
  if (share === null || share === undefined) {
    return "–";
  }
  return `${number(share, 1)}\u00a0%`;
}
