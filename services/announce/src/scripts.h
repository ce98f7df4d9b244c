/* Lua scripts of the Redis swarm store (see scripts.c for the key layout). */
#ifndef WL_ANNOUNCE_SCRIPTS_H
#define WL_ANNOUNCE_SCRIPTS_H

extern const char wl_lua_account[];
extern const char wl_lua_complete[];
extern const char wl_lua_sweep[];
extern const char wl_lua_drop[];

#endif
