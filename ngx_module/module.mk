# Copyright (C) govledger contributors
#
# Make fragment included by the top-level Makefile: builds
# ngx_http_govledger_module.so against the packaged nginx (nginx-dev),
# an AddressSanitizer/UBSan build of nginx and the module, and runs
# the t/ngx suite with the latter.
#
#   make ngx-module        build/ngx/ngx_http_govledger_module.so
#   make ngx-module-asan   build/ngx-asan/sbin/nginx + module
#   make test-ngx-asan     t/ngx/*.t against the sanitizer build

NGX_PKG_SRC    ?= /usr/share/nginx/src
NGX_BUILD_SRC   = $(CURDIR)/build/nginx-src
NGX_OUT         = $(CURDIR)/build/ngx
NGX_MODULE_DIR  = $(CURDIR)/ngx_module
NGX_MODULE_SRCS = $(wildcard $(NGX_MODULE_DIR)/*.c) \
                  $(NGX_MODULE_DIR)/fetch-nginx-source \
                  $(NGX_MODULE_DIR)/ubsan.supp \
                  $(wildcard $(NGX_MODULE_DIR)/*.h) $(NGX_MODULE_DIR)/config

# flags of Debian's packaged nginx (nginx -V), so that the module's
# signature matches /usr/sbin/nginx; our sources get the warnings on top
NGX_CC_OPT  = -g -O2 -fstack-protector-strong -Wformat \
              -Werror=format-security -fPIC -Wdate-time -D_FORTIFY_SOURCE=2 \
              -Wall -Wextra -Werror
NGX_LD_OPT  = -Wl,-z,relro -Wl,-z,now -fPIC

.PHONY: ngx-module ngx-module-asan test-ngx-asan

ngx-module: $(NGX_OUT)/ngx_http_govledger_module.so

$(NGX_BUILD_SRC)/objs/Makefile: $(NGX_MODULE_DIR)/config $(NGX_MODULE_DIR)/module.mk
	rm -rf $(NGX_BUILD_SRC)
	mkdir -p $(CURDIR)/build
	cp -a $(NGX_PKG_SRC) $(NGX_BUILD_SRC)
	cd $(NGX_BUILD_SRC) && bash -c '. ./conf_flags && \
	    ./configure "$${NGX_CONF_FLAGS[@]}" \
	    --with-cc-opt="$(NGX_CC_OPT)" --with-ld-opt="$(NGX_LD_OPT)" \
	    --add-dynamic-module=$(NGX_MODULE_DIR)' > configure.log 2>&1 \
	    || { tail -30 $(NGX_BUILD_SRC)/configure.log; exit 1; }

$(NGX_OUT)/ngx_http_govledger_module.so: $(NGX_BUILD_SRC)/objs/Makefile $(NGX_MODULE_SRCS)
	$(MAKE) -C $(NGX_BUILD_SRC) -f objs/Makefile modules
	mkdir -p $(NGX_OUT)
	# a new inode: a running nginx keeps its mapping of the old file
	cp $(NGX_BUILD_SRC)/objs/ngx_http_govledger_module.so $@.tmp
	mv -f $@.tmp $@

# The sanitizer build needs the complete nginx source (nginx-dev ships
# headers only): Debian's source package of the installed version,
# fetched with apt-get source, or a tree given as NGX_FULL_SRC.

NGX_ASAN_OUT   = $(CURDIR)/build/ngx-asan
NGX_ASAN_SRC   = $(CURDIR)/build/nginx-asan-src
NGX_ASAN_FLAGS = -g -O1 -fno-omit-frame-pointer \
                 -fsanitize=address,undefined \
                 -DNGX_DEBUG_PALLOC=1 -Wall -Wextra -Werror
NGX_FULL_SRC  ?=

ngx-module-asan: $(NGX_ASAN_OUT)/sbin/nginx

$(NGX_ASAN_SRC)/objs/Makefile: $(NGX_MODULE_DIR)/config $(NGX_MODULE_DIR)/module.mk \
                               $(NGX_MODULE_DIR)/fetch-nginx-source
	rm -rf $(NGX_ASAN_SRC)
	mkdir -p $(NGX_ASAN_SRC)
	if [ -n "$(NGX_FULL_SRC)" ]; then \
	    cp -a $(NGX_FULL_SRC)/. $(NGX_ASAN_SRC)/; \
	else \
	    $(NGX_MODULE_DIR)/fetch-nginx-source $(NGX_ASAN_SRC); \
	fi
	cd $(NGX_ASAN_SRC) && ./configure \
	    --prefix=$(NGX_ASAN_OUT) --with-compat --with-debug --with-threads \
	    --with-http_ssl_module --with-http_realip_module \
	    --with-http_auth_request_module --with-http_v2_module \
	    --with-cc-opt="$(NGX_ASAN_FLAGS)" \
	    --with-ld-opt="-fsanitize=address,undefined" \
	    --add-dynamic-module=$(NGX_MODULE_DIR) > configure.log 2>&1 \
	    || { tail -30 configure.log; exit 1; }

$(NGX_ASAN_OUT)/sbin/nginx: $(NGX_ASAN_SRC)/objs/Makefile $(NGX_MODULE_SRCS)
	$(MAKE) -C $(NGX_ASAN_SRC) -f objs/Makefile binary modules
	mkdir -p $(NGX_ASAN_OUT)/sbin $(NGX_ASAN_OUT)/modules
	cp $(NGX_ASAN_SRC)/objs/nginx $(NGX_ASAN_OUT)/sbin/nginx.tmp
	mv -f $(NGX_ASAN_OUT)/sbin/nginx.tmp $(NGX_ASAN_OUT)/sbin/nginx
	cp $(NGX_ASAN_SRC)/objs/ngx_http_govledger_module.so \
	    $(NGX_ASAN_OUT)/modules/ngx_http_govledger_module.so.tmp
	mv -f $(NGX_ASAN_OUT)/modules/ngx_http_govledger_module.so.tmp \
	    $(NGX_ASAN_OUT)/modules/ngx_http_govledger_module.so

# reports are written by workers running as the unprivileged user;
# ngx_module_names is defined by both the binary and every dynamic module
# (nginx's generated *_modules.c), an ODR report that is not ours
NGX_ASAN_REPORTS = $(NGX_ASAN_OUT)/reports

test-ngx-asan: $(NGX_ASAN_OUT)/sbin/nginx
	rm -rf $(NGX_ASAN_REPORTS)
	mkdir -p $(NGX_ASAN_REPORTS)
	chmod 1777 $(NGX_ASAN_REPORTS)
	GOVLEDGER_NGX_BINARY=$(NGX_ASAN_OUT)/sbin/nginx \
	GOVLEDGER_NGX_MODULE=$(NGX_ASAN_OUT)/modules/ngx_http_govledger_module.so \
	ASAN_OPTIONS=detect_leaks=0:detect_odr_violation=0:abort_on_error=1:log_path=$(NGX_ASAN_REPORTS)/asan \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$(NGX_ASAN_REPORTS)/ubsan:suppressions=$(NGX_MODULE_DIR)/ubsan.supp \
	    $(CURDIR)/t/run $(wildcard $(CURDIR)/t/ngx/*.t)
	@if ls $(NGX_ASAN_REPORTS)/* >/dev/null 2>&1; then \
	    echo "sanitizer reports:"; ls $(NGX_ASAN_REPORTS); exit 1; fi
	@echo "sanitizers: no reports"
