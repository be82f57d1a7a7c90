/** Any UUID, in either case: how an id is recognised where the API reads one (ids are made as v7, any version is taken). */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
