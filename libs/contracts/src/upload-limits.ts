// Bounds of a certificate upload: cert-registry enforces them, the console checks them before sending.
// Plain values in a module of their own, so the console bundles them without the schemas.

/** Most certificates one split upload (`?split=true`) registers; the validator caps paths far below it too. */
export const MAX_SPLIT_ENTRIES = 32;
