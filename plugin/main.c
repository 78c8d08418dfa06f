/* main.c — augurd: option parsing, config loading, signals, main loop.
 *
 * Precedence: compiled-in defaults < config file < command line.  The
 * command line is kept as given and re-applied after every SIGHUP reload,
 * so a reload never undoes an explicit option.
 *
 * Start-up, and who hears how it went:
 *   options and config    errors on stderr, exit 2 (nothing detached yet)
 *   detach                without --foreground: daemonize.h; from here on
 *                         log lines go to the journal or syslog
 *                         (augur-log.h), since stdio is /dev/null
 *   store, API, tick      augur_daemon_start(); a failure is logged, and
 *                         reported to whoever waits: the parent process
 *                         through the readiness pipe (it prints it and
 *                         exits 1), or systemd (Type=notify) through
 *                         STATUS= and the exit before READY=1.  A full
 *                         disk is no failure: augurd starts and drops
 *                         ticks until there is room (daemon.h).
 *   running               READY=1, and the parent exits 0 */
#include "config.h"

#include "augur-config.h"
#include "augur-log.h"
#include "daemon.h"
#include "daemonize.h"
#include "sd-notify.h"
#include "util.h"

#include <errno.h>
#include <glib-unix.h>
#include <locale.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct {
        char *uri;
        char *db;
        char *tick;
        char *mode;
        char *policy;
        char *model;
        char *socket;
        char *config;
        gboolean foreground;
        gboolean verbose;
        gboolean version;
} Options;

static Options opts;

static GOptionEntry entries[] = {
        { "connect", 'c', 0, G_OPTION_ARG_STRING, &opts.uri, "libvirt URI (default " AUGUR_DEFAULT_URI ")", "URI" },
        { "db", 0, 0, G_OPTION_ARG_FILENAME, &opts.db, "history database (default " AUGUR_DEFAULT_DB ")", "PATH" },
        { "tick", 0, 0, G_OPTION_ARG_STRING, &opts.tick, "tick period in seconds, >= 0.5 (default 5)", "SECONDS" },
        { "mode", 0, 0, G_OPTION_ARG_STRING, &opts.mode, "auto|observe|recommend|act (default auto)", "MODE" },
        { "policy", 0, 0, G_OPTION_ARG_STRING, &opts.policy, "augur|reactive (default augur)", "POLICY" },
        { "model", 0, 0, G_OPTION_ARG_FILENAME, &opts.model, "model file (default: built-in)", "FILE" },
        { "socket", 0, 0, G_OPTION_ARG_FILENAME, &opts.socket, "local API socket (default " AUGUR_DEFAULT_SOCKET "; empty: no API)", "PATH" },
        { "config", 0, 0, G_OPTION_ARG_FILENAME, &opts.config, "config file (default " AUGUR_DEFAULT_CONFIG ")", "FILE" },
        { "foreground", 'f', 0, G_OPTION_ARG_NONE, &opts.foreground, "stay in the foreground", NULL },
        { "verbose", 'v', 0, G_OPTION_ARG_NONE, &opts.verbose, "debug logging", NULL },
        { "version", 'V', 0, G_OPTION_ARG_NONE, &opts.version, "print the version and exit", NULL },
        { NULL },
};

/* Apply the command line over c.  Errors name the option. */
static gboolean
apply_cmdline (AugurConfig *c, GError **error)
{
        if (opts.uri) {
                g_free (c->uri);
                c->uri = g_strdup (opts.uri);
        }
        if (opts.db) {
                g_free (c->db_path);
                c->db_path = g_strdup (opts.db);
        }
        if (opts.model) {
                g_free (c->model_path);
                c->model_path = g_strdup (opts.model);
        }
        if (opts.socket) {
                g_free (c->socket_path);
                c->socket_path = g_strdup (opts.socket);
        }
        if (opts.tick) {
                double t = 0;

                /* Decimal only: g_ascii_strtod alone reads "0x10" as 16. */
                if (!augur_parse_decimal (opts.tick, &t, NULL) || !(t >= 0.5 && t <= 3600)) {
                        g_set_error (error, AUGUR_CONFIG_ERROR, AUGUR_CONFIG_ERROR_RANGE,
                                     "--tick %s: expected decimal seconds from 0.5 to 3600", opts.tick);
                        return FALSE;
                }
                c->tick_s = t;
        }
        if (opts.mode && !augur_mode_from_string (opts.mode, &c->mode)) {
                g_set_error (error, AUGUR_CONFIG_ERROR, AUGUR_CONFIG_ERROR_RANGE,
                             "--mode %s: expected auto, observe, recommend or act", opts.mode);
                return FALSE;
        }
        if (opts.policy && !augur_policy_from_string (opts.policy, &c->policy)) {
                g_set_error (error, AUGUR_CONFIG_ERROR, AUGUR_CONFIG_ERROR_RANGE,
                             "--policy %s: expected augur or reactive", opts.policy);
                return FALSE;
        }
        return augur_config_validate (c, "command line", error);
}

static const char *
config_path (gboolean *ret_missing_ok)
{
        const char *env = g_getenv ("AUGUR_CONFIG");

        *ret_missing_ok = FALSE;
        if (opts.config)
                return opts.config;
        if (env && *env)
                return env;
        *ret_missing_ok = TRUE;
        return AUGUR_DEFAULT_CONFIG;
}

static AugurConfig *
load_config (GError **error)
{
        g_autoptr(AugurConfig) defaults = augur_config_new_default ();
        g_autoptr(AugurConfig) c = NULL;
        gboolean missing_ok;
        const char *path = config_path (&missing_ok);

        c = augur_config_load (defaults, path, missing_ok, error);
        if (!c || !apply_cmdline (c, error))
                return NULL;
        return g_steal_pointer (&c);
}

/* Re-read the config file and re-apply the command line: SIGHUP and the
 * local API's "reload" call.  On failure the running config is kept. */
static gboolean
reload_config (AugurDaemon *d, GError **error)
{
        AugurConfig *c = load_config (error);

        if (!c)
                return FALSE;
        augur_daemon_apply_config (d, c);
        return TRUE;
}

static gboolean
on_sighup (gpointer user_data)
{
        g_autoptr(GError) error = NULL;

        /* systemd waits for READY=1 after RELOADING=1 (systemctl reload). */
        augur_sd_notifyf ("RELOADING=1\nMONOTONIC_USEC=%" G_GINT64_FORMAT, g_get_monotonic_time ());
        if (!reload_config (user_data, &error)) {
                g_warning ("reload failed, keeping the running configuration: %s, ignoring",
                           error->message);
                augur_sd_notifyf ("READY=1\nSTATUS=reload failed, running configuration kept: %s",
                                  error->message);
                return G_SOURCE_CONTINUE;
        }
        augur_sd_notify ("READY=1\nSTATUS=configuration reloaded");
        return G_SOURCE_CONTINUE;
}

static gboolean
on_quit (gpointer user_data)
{
        AugurDaemon *d = user_data;

        g_message ("exiting on signal");
        augur_sd_notify ("STOPPING=1");
        g_main_loop_quit (d->loop);
        return G_SOURCE_CONTINUE;
}

int
main (int argc, char **argv)
{
        g_autoptr(GOptionContext) ctx = g_option_context_new ("- predictive resizing agent for QEMU/KVM guests");
        g_autoptr(GError) error = NULL;
        g_autoptr(AugurDaemon) d = NULL;
        AugurConfig *config;
        int ready_fd = -1;

        setlocale (LC_ALL, "");
        g_option_context_add_main_entries (ctx, entries, NULL);
        if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
                g_printerr ("augurd: %s\n", error->message);
                return 2;
        }
        if (opts.version) {
                g_print ("augurd %s\n", PACKAGE_VERSION);
                return 0;
        }
        if (argc > 1) {
                g_printerr ("augurd: unexpected argument '%s'\n", argv[1]);
                return 2;
        }
        if (opts.verbose)
                g_setenv ("G_MESSAGES_DEBUG", "all", TRUE);

        config = load_config (&error);
        if (!config) {
                g_printerr ("augurd: %s\n", error->message);
                return 2;
        }

        /* The hypervisor backends' process-wide set-up (libvirt: its event
         * loop on the GLib main context), before the first connection. */
        if (!augur_hv_init (&error)) {
                g_printerr ("augurd: %s\n", error->message);
                augur_config_free (config);
                return 1;
        }
        /* Every socket send uses MSG_NOSIGNAL; the readiness pipe has no
         * such flag, and a parent killed meanwhile must not kill us. */
        signal (SIGPIPE, SIG_IGN);
        if (!opts.foreground) {
                if (!augur_daemonize (&ready_fd, &error)) {
                        g_printerr ("augurd: %s\n", error->message);
                        augur_config_free (config);
                        return 1;
                }
                augur_log_use_system ();
        }

        d = augur_daemon_new (config);
        d->reload = reload_config;
        g_unix_signal_add (SIGHUP, on_sighup, d);
        g_unix_signal_add (SIGTERM, on_quit, d);
        g_unix_signal_add (SIGINT, on_quit, d);
        if (!augur_daemon_start (d, &error)) {
                if (opts.foreground)
                        g_printerr ("augurd: %s\n", error->message);
                else
                        g_warning ("cannot start: %s; exiting", error->message);
                augur_sd_notifyf ("STATUS=cannot start: %s", error->message);
                augur_daemonize_failed (&ready_fd, error->message);
                return 1;
        }
        g_message ("augurd %s watching %s every %.3g s, history in %s",
                   PACKAGE_VERSION, config->uri, config->tick_s, config->db_path);
        augur_sd_notifyf ("READY=1\nSTATUS=watching %s every %.3g s", config->uri, config->tick_s);
        augur_daemonize_ready (&ready_fd);
        g_main_loop_run (d->loop);
        return d->exit_code;
}
