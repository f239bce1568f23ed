/** Most elements a map step fans out over in one run; the API rejects larger lists up front. */
export const MAP_ITEMS_LIMIT = 500;
