/* Client addresses as sshd gives them, shared by the PAM module and the recorder. */
#ifndef TG_ADDR_H
#define TG_ADDR_H

/*
 * Whether zone (the part after "%" of a link-local IPv6 address, as getnameinfo gives sshd
 * "fe80::1%eth0") is an interface name or index: 1 to IF_NAMESIZE - 1 ASCII letters, digits
 * and "._-". So a login's client_addr and its recording's name the client alike.
 */
int tg_zone_ok(const char *zone);

#endif
