use super::format_uuid;

#[test]
fn a_uuid_is_formatted_lower_case_with_its_four_dashes() {
    let b = [
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee,
        0xff,
    ];
    assert_eq!(format_uuid(&b), "00112233-4455-6677-8899-aabbccddeeff");
    assert_eq!(
        format_uuid(&[0; 16]),
        "00000000-0000-0000-0000-000000000000"
    );
    let s = format_uuid(&[0xA5; 16]);
    assert_eq!(s, "a5a5a5a5-a5a5-a5a5-a5a5-a5a5a5a5a5a5");
    assert_eq!(s.capacity(), 36, "one allocation of the exact size");
}
