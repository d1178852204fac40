/* SPDX-License-Identifier: MIT */
/*
 * install_smoke.c - a program built against an installed libmemif, the way a
 * user builds one: public header and library only, found through pkg-config
 * or find_package(memif). Creates a master interface on a socket in a
 * temporary directory, checks the version and error strings, cleans up.
 */
#define _POSIX_C_SOURCE 200809L

#include <libmemif.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fail(const char *what, int err)
{
	fprintf(stderr, "install_smoke: %s: %s (%d)\n", what, memif_strerror(err), err);
	return 1;
}

int main(void)
{
	char dir[] = "/tmp/memif-install-smoke-XXXXXX";
	memif_socket_args_t sargs;
	memif_conn_args_t cargs;
	memif_socket_handle_t sock = NULL;
	memif_conn_handle_t conn = NULL;
	int err, status = 1;

	if (memif_get_version() != 0x0200) {
		fprintf(stderr, "install_smoke: version 0x%04x, expected 0x0200\n",
			(unsigned)memif_get_version());
		return 1;
	}
	if (memif_strerror(MEMIF_ERR_SUCCESS) == NULL || memif_strerror(MEMIF_ERR_NOCONN) == NULL) {
		fprintf(stderr, "install_smoke: memif_strerror returned NULL\n");
		return 1;
	}
	if (mkdtemp(dir) == NULL) {
		perror("install_smoke: mkdtemp");
		return 1;
	}

	memset(&sargs, 0, sizeof(sargs));
	snprintf(sargs.path, sizeof(sargs.path), "%s/memif.sock", dir);
	strncpy(sargs.app_name, "install_smoke", sizeof(sargs.app_name) - 1);
	err = memif_create_socket(&sock, &sargs, NULL);
	if (err != MEMIF_ERR_SUCCESS) {
		fail("memif_create_socket", err);
		goto out_rmdir;
	}

	memset(&cargs, 0, sizeof(cargs));
	cargs.socket = sock;
	cargs.is_master = 1;
	cargs.interface_id = 0;
	memcpy(cargs.interface_name, "smoke", sizeof("smoke"));
	err = memif_create(&conn, &cargs, NULL, NULL, NULL, NULL);
	if (err != MEMIF_ERR_SUCCESS) {
		fail("memif_create", err);
		goto out_socket;
	}

	err = memif_delete(&conn);
	if (err != MEMIF_ERR_SUCCESS || conn != NULL) {
		fail("memif_delete", err);
		goto out_socket;
	}
	status = 0;

out_socket:
	err = memif_delete_socket(&sock);
	if (err != MEMIF_ERR_SUCCESS || sock != NULL) {
		fail("memif_delete_socket", err);
		status = 1;
	}
out_rmdir:
	/* The listener's socket file is gone once the socket is deleted. */
	if (rmdir(dir) != 0) {
		perror("install_smoke: rmdir (socket file left behind?)");
		status = 1;
	}
	if (status == 0)
		printf("install_smoke: ok (protocol %s)\n", memif_get_version_str());
	return status;
}
