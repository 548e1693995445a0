/* Numbers in requests. */
#ifndef STACK_COMMON_NUMBER_H
#define STACK_COMMON_NUMBER_H

/* `value` as an unsigned number in `base`, at most `max`; anything else (empty, signed,
 * trailing characters, out of range) fails with `stage`, naming `key`. */
unsigned long long parse_number(const char *stage, const char *key, const char *value, int base, unsigned long long max);

#endif
