/* Compile check: DIGBY_STATIC makes every public function static.  The
   table below takes the address of each one, so none is "defined but not
   used" under -Werror, and each must have a definition.  Add new DIGBY_API
   functions here.  The Makefile also checks (nm) that the object exports no
   symbol but main. */
#define DIGBY_STATIC
#define DIGBY_IMPLEMENTATION
#include "digby.h"

typedef void (*compile_check_fn)(void);

static const compile_check_fn compile_check_all[] = {
    (compile_check_fn)digby_open,
    (compile_check_fn)digby_close,
    (compile_check_fn)digby_strerror,
    (compile_check_fn)digby_version,
    (compile_check_fn)digby_corrupt_pgno,
    (compile_check_fn)digby_discarded_txid,
    (compile_check_fn)digby_free,
    (compile_check_fn)digby_vfs_posix,
    (compile_check_fn)digby_vfs_win32,
    (compile_check_fn)digby_vfs_mem_create,
    (compile_check_fn)digby_vfs_mem_destroy,
    (compile_check_fn)digby_put,
    (compile_check_fn)digby_get,
    (compile_check_fn)digby_delete,
    (compile_check_fn)digby_max_key_bytes,
    (compile_check_fn)digby_sync,
    (compile_check_fn)digby_checkpoint,
    (compile_check_fn)digby_txn_begin,
    (compile_check_fn)digby_txn_commit,
    (compile_check_fn)digby_txn_abort,
    (compile_check_fn)digby_txn_id,
    (compile_check_fn)digby_savepoint,
    (compile_check_fn)digby_rollback_to,
    (compile_check_fn)digby_release,
    (compile_check_fn)digby_txn_put,
    (compile_check_fn)digby_txn_get,
    (compile_check_fn)digby_txn_delete,
    (compile_check_fn)digby_txn_delete_range,
    (compile_check_fn)digby_txn_get_range,
    (compile_check_fn)digby_txn_put_begin,
    (compile_check_fn)digby_blob_write,
    (compile_check_fn)digby_blob_finish,
    (compile_check_fn)digby_blob_abort,
    (compile_check_fn)digby_table_open,
    (compile_check_fn)digby_table_drop,
    (compile_check_fn)digby_table_list,
    (compile_check_fn)digby_table_count,
    (compile_check_fn)digby_cursor_open,
    (compile_check_fn)digby_cursor_close,
    (compile_check_fn)digby_cursor_seek,
    (compile_check_fn)digby_cursor_first,
    (compile_check_fn)digby_cursor_last,
    (compile_check_fn)digby_cursor_next,
    (compile_check_fn)digby_cursor_prev,
    (compile_check_fn)digby_cursor_get,
    (compile_check_fn)digby_cursor_get_range,
    (compile_check_fn)digby_stat,
    (compile_check_fn)digby_check,
    (compile_check_fn)digby_backup,
    (compile_check_fn)digby_compact,
    (compile_check_fn)digby_change_passphrase,
    (compile_check_fn)digby_rekey,
    (compile_check_fn)digby_tuple_pack,
    (compile_check_fn)digby_tuple_unpack,
    (compile_check_fn)digby_tuple_compare,
    (compile_check_fn)digby_tuple_range,
    (compile_check_fn)digby_schema_check,
    (compile_check_fn)digby_rtable_open,
    (compile_check_fn)digby_rtable_drop,
    (compile_check_fn)digby_rtable_list,
    (compile_check_fn)digby_rtable_schema,
    (compile_check_fn)digby_rtable_count,
    (compile_check_fn)digby_rtable_message,
    (compile_check_fn)digby_rtable_add_column,
    (compile_check_fn)digby_rtable_add_index,
    (compile_check_fn)digby_rtable_drop_index,
    (compile_check_fn)digby_rtable_insert,
    (compile_check_fn)digby_rtable_upsert,
    (compile_check_fn)digby_rtable_update,
    (compile_check_fn)digby_rtable_delete,
    (compile_check_fn)digby_rtable_get,
    (compile_check_fn)digby_rtable_constraint,
    (compile_check_fn)digby_rtable_explain,
    (compile_check_fn)digby_rscan_open,
    (compile_check_fn)digby_rscan_next,
    (compile_check_fn)digby_rscan_row,
    (compile_check_fn)digby_rscan_close
};

int main(void)
{
    size_t i, n = 0;
    for (i = 0; i < sizeof compile_check_all / sizeof compile_check_all[0]; i++)
        n += compile_check_all[i] != 0;
    return n == 0;
}
