/*
 * fleet: the "fleet" and "communes" modes of mutu-fleetsim (fleet.c).
 */
#ifndef MUTU_FLEET_H
#define MUTU_FLEET_H

/* argv[1] is "fleet" or "communes"; returns the exit status. */
int fleet_main(int argc, char *argv[]);

#endif
