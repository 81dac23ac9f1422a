import { describe, expect, it } from 'vitest';
import { VnfpipeError } from '../../src/errors.js';
import { importVnfdFile } from '../../src/vnfd/import.js';
import { vfwDocument, writeTemp } from './support.js';

const ROOT = "/etsi-nfv-descriptors:nfv/vnfd[id='vfw-vnfd']";

function failure(run: () => unknown): VnfpipeError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(VnfpipeError);
    return error as VnfpipeError;
  }
  throw new Error('expected a VnfpipeError');
}

describe('malformed SOL006 VNFDs', () => {
  it('a VNFD without a VDU names /vdu', () => {
    const doc = vfwDocument();
    delete doc['etsi-nfv-descriptors:nfv'].vnfd[0]!.vdu;
    const file = writeTemp('no-vdu.json', doc);
    const error = failure(() => importVnfdFile(file));
    expect(error.code).toBe('VNFD_INVALID');
    expect(error.exitCode).toBe(2);
    expect(error.where).toBe(`${file} ${ROOT}/vdu`);
    expect(error.message).toMatch(/no VDU/);
  });

  it('an int-cpd on an unknown virtual link names the cpd’s leaf and the links there are', () => {
    const doc = vfwDocument();
    doc['etsi-nfv-descriptors:nfv'].vnfd[0]!.vdu[0]['int-cpd'][0]['int-virtual-link-desc'] = 'nowhere-vl';
    const file = writeTemp('dangling.json', doc);
    const error = failure(() => importVnfdFile(file));
    expect(error.where).toBe(`${file} ${ROOT}/vdu[id='fw']/int-cpd[id='data-out']/int-virtual-link-desc`);
    expect(error.message).toMatch(/unknown int-virtual-link-desc 'nowhere-vl'/);
    expect(error.hint).toBe('virtual links: mgmt-vl, data-vl');
  });

  it('a flavour that does not exist names the df and lists the flavours', () => {
    const error = failure(() => importVnfdFile(writeTemp('ok.json', vfwDocument()), { flavour: 'medium' }));
    expect(error.where).toMatch(/ \/etsi-nfv-descriptors:nfv\/vnfd\[id='vfw-vnfd'\]\/df\[id='medium'\]$/);
    expect(error.hint).toBe('flavours: small, large');
  });

  it('an ext-cpd exposing an unknown cpd of the VDU names the ext-cpd', () => {
    const doc = vfwDocument();
    doc['etsi-nfv-descriptors:nfv'].vnfd[0]!['ext-cpd'][0]['int-cpd'].cpd = 'ghost';
    const error = failure(() => importVnfdFile(writeTemp('ghost.json', doc)));
    expect(error.where).toMatch(/ext-cpd\[id='north'\]\/int-cpd\/cpd$/);
  });

  it('a VDU without a software image names its sw-image-desc leaf', () => {
    const doc = vfwDocument();
    delete doc['etsi-nfv-descriptors:nfv'].vnfd[0]!.vdu[0]['sw-image-desc'];
    const error = failure(() => importVnfdFile(writeTemp('no-image.json', doc)));
    expect(error.where).toMatch(/vdu\[id='fw'\]\/sw-image-desc$/);
  });

  it('a fixed address on a link without a subnet fails the workload validation, naming the VDU', () => {
    const doc = vfwDocument();
    for (const df of doc['etsi-nfv-descriptors:nfv'].vnfd[0]!.df) delete df['virtual-link-profile'];
    const error = failure(() => importVnfdFile(writeTemp('no-subnet.json', doc)));
    expect(error.where).toMatch(/vdu\[id='fw'\]$/);
    expect(error.message).toMatch(/static ip needs the network's subnet/);
  });

  it('XML and unparsable files are refused with a hint', () => {
    expect(failure(() => importVnfdFile(writeTemp('v.xml', '<vnfd/>'))).hint).toMatch(/yanglint -f json/);
    expect(failure(() => importVnfdFile(writeTemp('v.json', '{"vnfd": '))).message).toBe('not valid JSON');
  });
});
