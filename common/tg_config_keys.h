/* The ids of tollgate.conf's keys; the table itself is tg_config_keys.def. */
#ifndef TG_CONFIG_KEYS_H
#define TG_CONFIG_KEYS_H

#ifndef TG_SYSCONFDIR
#define TG_SYSCONFDIR "/etc"
#endif
#ifndef TG_LOCALSTATEDIR
#define TG_LOCALSTATEDIR "/var"
#endif

enum tg_conf_id {
#define X(id, section, key, type, def, min, max, choices, readers, help) TG_CONF_##id,
#include "tg_config_keys.def"
#undef X
	TG_CONF_COUNT
};

#endif
